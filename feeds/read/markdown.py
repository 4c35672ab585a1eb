"""A Markdown body -> sanitised HTML, with the facts the reader needs (title, summary, images).

CommonMark 0.31.2 with GitHub's extensions (tables, strikethrough, autolinks, task lists,
footnotes) through comrak (a Rust port of GitHub's cmark-gfm: its HTML, without GitHub's
rendering quirks, and ~30x faster than the pure-Python markdown-it-py, which matters for
a cold build of a big archive; README "Markdown" has the measurements), then nh3
(ammonia) with an explicit allow-list: no
script, style, iframe, event attribute or `javascript:` URL survives, whatever raw HTML the
file holds. Headings shift one level down when the body has an `h1`, so that the article's
title stays the page's only `h1`. Relative URLs become absolute (the same HTML goes into
pages, feeds and mail); relative images point at their copy under `media/<id>/`.
"""

from __future__ import annotations

import html
import posixpath
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, unquote, urljoin, urlsplit

import comrak
import nh3

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
    "td": {"align", "style"},
    "th": {"align", "style"},
    "time": {"datetime"},
    "input": {"type", "checked", "disabled"},
}
ALLOWED_CLASSES: dict[str, set[str]] = {
    "a": {"footnote-backref"},
    "code": set(),  # language-NAME, checked in _classes
    "section": {"footnotes"},
    "sup": {"footnote-ref"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Only the ids comrak (as cmark-gfm) writes for footnotes (fn-LABEL, fnref-LABEL,
# fnref-LABEL-2): any other id could clobber the page's own names.
_FOOTNOTE_ID = re.compile(r"fn(?:ref)?-[^\s]+")
_ALIGN_STYLE = re.compile(r"text-align:\s*(left|right|center)")
_LANGUAGE_CLASS = re.compile(r"language-[\w+#.-]+")
_HEADING = re.compile(r"h([1-6])")
_HEADING_TAG = re.compile(r"<(/?)(h[1-6])>")
_LEADING_H1 = re.compile(r"\s*<h1>(.*?)</h1>\s*", re.S)
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
# A tag as nh3 serialises it: attribute values always in double quotes (a `"` inside is
# &quot;, a `>` may stay), a `<` in text always &lt;. Only for sanitised HTML.
_TAG = re.compile(r'<(?:[^>"]|"[^"]*")*>')
# Raw HTML is kept by the parser (UNSAFE) and then sanitised by nh3: dropping it in the
# parser would lose harmless markup (<kbd>, <details>) along with the dangerous.
_EXTENSIONS = comrak.ExtensionOptions()
_EXTENSIONS.table = True
_EXTENSIONS.strikethrough = True
_EXTENSIONS.autolink = True
_EXTENSIONS.tasklist = True
_EXTENSIONS.footnotes = True
_RENDER = comrak.RenderOptions()
_RENDER.unsafe_ = True


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered Markdown body and what the reader takes from it."""

    html: str  # sanitised: safe to put into a page, a feed or a mail as it is
    title: str  # the text of a leading `# heading` (taken out of the body), else ''
    summary: str  # the first paragraph as plain text
    images: tuple[str, ...]  # relative image paths, as written (relative to the file)


def render(text: str, article_id: str, site_url: str, take_title: bool) -> Rendered:
    """Render a Markdown body. take_title: a leading `# heading` is the title, not body."""
    raw = render_html(text)
    images: list[str] = []
    # Sanitised first: what follows works on nh3's serialisation, where a "<" is a tag.
    body = sanitise(raw, site_url, article_id, images)
    title = ""
    if take_title and (leading := _LEADING_H1.match(body)):
        title = plain_text(leading.group(1))
        body = body[leading.end() :]
    body = shift_headings(body)
    return Rendered(body, title, _first_paragraph(body), tuple(dict.fromkeys(images)))


def render_html(text: str) -> str:
    """The parser's HTML of a Markdown text, raw HTML kept: not yet safe to publish."""
    return comrak.render_markdown(text, extension_options=_EXTENSIONS, render_options=_RENDER)


def shift_headings(fragment: str) -> str:
    """h1 -> h2, h2 -> h3 ... (h6 stays) when the sanitised fragment holds an h1."""
    if "<h1>" not in fragment:
        return fragment
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}{shift_tag(m.group(2))}>", fragment)


def shift_tag(tag: str) -> str:
    """The heading tag one level down (h6 stays h6)."""
    match = _HEADING.fullmatch(tag)
    return f"h{min(int(match.group(1)) + 1, 6)}" if match else tag


def plain_text(fragment: str) -> str:
    """The words of a sanitised HTML fragment, as a reader sees them: for titles and
    summaries (every tag stripped, entities decoded, white space collapsed)."""
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def _first_paragraph(body: str) -> str:
    for match in _PARAGRAPH.finditer(body):
        text = plain_text(match.group(1))
        if text:
            return text
    return ""


def sanitise(fragment: str, site_url: str, article_id: str, images: list[str] | None = None) -> str:
    """HTML from Markdown (raw HTML included) -> HTML holding only the allow-list.

    Relative links become absolute against site_url; a relative image becomes its copy
    under media/<article_id>/ and its path (as written) is added to images.
    """
    call = _CALL
    call.site_url, call.article_id = site_url, article_id
    call.images = images if images is not None else []
    try:
        return _CLEANER.clean(fragment)
    finally:
        call.images = []  # not kept alive by the next caller's state


class _Call(threading.local):
    """The arguments of the sanitise call running on this thread, for _keep: one Cleaner
    serves every call (building one per call took a fifth of a cold build's sanitising),
    so its attribute filter cannot close over them (the preview server renders on threads)."""

    def __init__(self) -> None:  # run once on each thread that uses it
        self.site_url = ""
        self.article_id = ""
        self.images: list[str] = []


_CALL = _Call()


def _keep(tag: str, attribute: str, value: str) -> str | None:
    """The attribute filter: the value to keep (maybe rewritten), or None to drop it."""
    if attribute == "href":  # most attributes are links: tested first
        return _absolute(value, _CALL.site_url)
    if attribute == "align":
        return value if value in ("left", "right", "center") else None
    if attribute == "id":
        return value if _FOOTNOTE_ID.fullmatch(value) else None
    if attribute == "style":  # table cell alignment is the only style kept
        return value if _ALIGN_STYLE.fullmatch(value) else None
    if attribute == "class":
        return _classes(tag, value)
    if attribute == "src" and tag == "img":
        call = _CALL
        local = media_source(value)
        if local is None:
            return _absolute(value, call.site_url)
        call.images.append(local)
        return call.site_url + media_path(call.article_id, local)
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={
        tag: ALLOWED_ATTRIBUTES.get(tag, set()) | ({"class"} if tag in ALLOWED_CLASSES else set())
        for tag in ALLOWED_ATTRIBUTES.keys() | ALLOWED_CLASSES.keys()
    },
    attribute_filter=_keep,
    link_rel=None,
    url_schemes=set(URL_SCHEMES),
    strip_comments=True,
)


def _classes(tag: str, value: str) -> str | None:
    """The classes the renderer writes (footnotes, code languages); no others."""
    allowed = ALLOWED_CLASSES.get(tag, set())
    kept = [
        name
        for name in value.split()
        if name in allowed or (tag == "code" and _LANGUAGE_CLASS.fullmatch(name))
    ]
    return " ".join(kept) or None


@lru_cache(maxsize=4096)  # an archive links to the same pages again and again
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
