"""Article text to HTML: every character escaped, URLs turned into links."""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from feeds.model import Block

_URL = re.compile(r"\bhttps?://[^\s<>\"'«»“”]+", re.IGNORECASE)
_TRAILING = ".,;:!?…"


def linkify(text: str) -> Markup:
    """Escape text and turn http(s) URLs in it into links."""
    if "://" not in text:
        return escape(text)
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        start, end = match.start(), match.start() + _url_length(url)
        out.append(str(escape(text[last:start])))
        safe = escape(text[start:end])
        out.append(f'<a href="{safe}">{safe}</a>')
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def _url_length(url: str) -> int:
    """How much of a matched URL is the URL: trailing punctuation, and closing parentheses
    that open nowhere inside it, belong to the sentence ("(see https://x.org/a).").

    One pass from the end with running counts: a URL followed by 150 000 ')' costs
    linear time, not one count of the whole URL per character dropped.
    """
    opened, closed = url.count("("), url.count(")")
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last == ")" and opened < closed:
            closed -= 1
            end -= 1
        else:
            break
    return end


def blocks_to_html(blocks: Iterable[Block]) -> Markup:
    """The article body as HTML, one element per block."""
    parts: list[str] = []
    for block in blocks:
        if block.kind == "html":  # a Markdown body, sanitised by feeds.markdown when read
            parts.append(block.text)
            continue
        inner = linkify(block.text)
        if block.kind == "h2":
            parts.append(f"<h2>{inner}</h2>")
        elif block.kind == "quote":
            parts.append(f"<blockquote><p>{inner}</p></blockquote>")
        else:
            parts.append(f"<p>{inner}</p>")
    return Markup("\n".join(parts))
