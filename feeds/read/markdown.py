"""A Markdown body -> sanitised HTML, with the facts the reader needs (title, summary, images).

CommonMark with GitHub's extensions (tables, strikethrough, autolinks, task lists,
footnotes) through markdown-it-py, then nh3 (ammonia) with an explicit allow-list: no
script, style, iframe, event attribute or `javascript:` URL survives, whatever raw HTML the
file holds. Headings shift one level down when the body has an `h1`, so that the article's
title stays the page's only `h1`. Relative URLs become absolute (the same HTML goes into
pages, feeds and mail); relative images point at their copy under `media/<id>/`.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import quote, unquote, urljoin, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "details",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "input",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "section",
        "small",
        "span",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    ]
)
# Removed with everything inside them (the others lose the tag and keep their text).
DROPPED_WITH_CONTENT = frozenset(
    [
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "textarea",
        "select",
        "option",
        "form",
        "frame",
        "frameset",
        "noframes",
        "applet",
        "math",
        "svg",
    ]
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "li": {"id"},
    "sup": {"id"},
    "td": {"style"},
    "th": {"style"},
    "time": {"datetime"},
    "input": {"type", "checked", "disabled"},
}
ALLOWED_CLASSES: dict[str, set[str]] = {
    "a": {"footnote-ref", "footnote-backref"},
    "code": set(),  # language-NAME, checked in _classes
    "hr": {"footnotes-sep"},
    "section": {"footnotes"},
    "ol": {"footnotes-list"},
    "li": {"footnote-item", "task-list-item"},
    "sup": {"footnote-ref"},
    "ul": {"contains-task-list"},
    "input": {"task-list-item-checkbox"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Only the ids the footnote plugin writes: any other id could clobber the page's own names.
_FOOTNOTE_ID = re.compile(r"fn(?:ref)?\d+(?::\d+)?")
_HEADING = re.compile(r"h([1-6])")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered Markdown body and what the reader takes from it."""

    html: str  # sanitised: safe to put into a page, a feed or a mail as it is
    title: str  # the text of a leading `# heading` (taken out of the body), else ''
    summary: str  # the first paragraph as plain text
    images: tuple[str, ...]  # relative image paths, as written (relative to the file)


@cache
def _parser() -> MarkdownIt:
    """One configured parser per process (building it compiles many regular expressions)."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": True})
    md.enable(["table", "strikethrough", "linkify"])
    return md.use(footnote_plugin).use(tasklists_plugin)


def render(text: str, article_id: str, site_url: str, take_title: bool) -> Rendered:
    """Render a Markdown body. take_title: a leading `# heading` is the title, not body."""
    md = _parser()
    env: dict[str, object] = {}
    tokens = md.parse(text, env)
    title = ""
    if take_title and _leading_h1(tokens):
        title = plain_text(tokens[1])
        del tokens[:3]
    _shift_headings(tokens)
    raw = md.renderer.render(tokens, md.options, env)
    images: list[str] = []
    body = sanitise(raw, site_url, article_id, images)
    return Rendered(body, title, _first_paragraph(tokens), tuple(dict.fromkeys(images)))


def _leading_h1(tokens: Sequence[Token]) -> bool:
    return len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1"


def _shift_headings(tokens: list[Token]) -> None:
    """h1 -> h2, h2 -> h3 ... (h6 stays) when any h1 is left in the body."""
    if not any(t.type == "heading_open" and t.tag == "h1" for t in tokens):
        return
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = shift_tag(token.tag)


def shift_tag(tag: str) -> str:
    """The heading tag one level down (h6 stays h6)."""
    match = _HEADING.fullmatch(tag)
    return f"h{min(int(match.group(1)) + 1, 6)}" if match else tag


def plain_text(inline: Token) -> str:
    """The words of an inline token, as a reader sees them: for titles and summaries.

    Rendered and stripped of every tag by the sanitiser, so that the text of raw HTML
    (`<script>...</script>`) is dropped exactly as it is from the body.
    """
    md = _parser()
    rendered = md.renderer.render([inline], md.options, {})
    stripped = nh3.clean(rendered, tags=set(), clean_content_tags=set(DROPPED_WITH_CONTENT))
    return " ".join(html.unescape(stripped).split())


def _first_paragraph(tokens: Sequence[Token]) -> str:
    for position, token in enumerate(tokens[:-1]):
        if token.type == "paragraph_open" and tokens[position + 1].type == "inline":
            text = plain_text(tokens[position + 1])
            if text:
                return text
    return ""


def sanitise(fragment: str, site_url: str, article_id: str, images: list[str] | None = None) -> str:
    """HTML from Markdown (raw HTML included) -> HTML holding only the allow-list.

    Relative links become absolute against site_url; a relative image becomes its copy
    under media/<article_id>/ and its path (as written) is added to images.
    """
    found = images if images is not None else []

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if _FOOTNOTE_ID.fullmatch(value) else None
        if attribute == "style":  # table cell alignment is the only style kept
            return value if re.fullmatch(r"text-align:\s*(left|right|center)", value) else None
        if attribute == "href":
            return _absolute(value, site_url)
        if attribute == "class":
            return _classes(tag, value)
        if attribute == "src" and tag == "img":
            local = media_source(value)
            if local is None:
                return _absolute(value, site_url)
            found.append(local)
            return site_url + media_path(article_id, local)
        return value

    return nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={
            tag: ALLOWED_ATTRIBUTES.get(tag, set())
            | ({"class"} if tag in ALLOWED_CLASSES else set())
            for tag in ALLOWED_ATTRIBUTES.keys() | ALLOWED_CLASSES.keys()
        },
        attribute_filter=keep,
        link_rel=None,
        url_schemes=set(URL_SCHEMES),
        strip_comments=True,
    )


def _classes(tag: str, value: str) -> str | None:
    """The classes the renderer writes (footnotes, task lists, code languages); no others."""
    allowed = ALLOWED_CLASSES.get(tag, set())
    kept = [
        name
        for name in value.split()
        if name in allowed or (tag == "code" and re.fullmatch(r"language-[\w+#.-]+", name))
    ]
    return " ".join(kept) or None


def _absolute(url: str, site_url: str) -> str:
    """A URL as a reader outside the site can follow it (fragments stay: footnotes)."""
    if url.startswith("#") or urlsplit(url).scheme:
        return url
    return urljoin(site_url, url)


def media_source(url: str) -> str | None:
    """The file a relative image URL names (unquoted, normalised), or None when not local."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith(("/", "#")) or "\\" in url:
        return None
    path = unquote(parts.path)
    if not path:
        return None
    return posixpath.normpath(path)


def media_path(article_id: str, local: str) -> str:
    """The publish-folder path (URL-quoted) a body image of an article is copied to."""
    return quote(f"media/{article_id}/{posixpath.basename(local)}")
