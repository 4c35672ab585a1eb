"""The sanitiser built once (one nh3.Cleaner, per-call state on the thread) writes exactly
what the one it replaced wrote: that older function, a fresh nh3.clean per call with a
closure as attribute filter, is kept here as the reference and both run on the same input:
generated ordinary and hostile Markdown, every CommonMark spec example, and concurrent
calls from threads with different sites and articles."""

from __future__ import annotations

import json
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import nh3
from hypothesis import given
from hypothesis import strategies as st

from feeds.read.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_CLASSES,
    ALLOWED_TAGS,
    DROPPED_WITH_CONTENT,
    URL_SCHEMES,
    render_html,
    sanitise,
)
from tests.hypothesis_profiles import PROPERTY
from tests.test_markdown_sanitise import hostile_fragment

SPEC = Path(__file__).parent / "fixtures" / "commonmark" / "spec-0.31.2.json"
SITES = ("https://news.example.org/", "https://example.com/blog/")


def reference_sanitise(fragment: str, site_url: str, article_id: str, found: list[str]) -> str:
    """feeds.read.markdown.sanitise as it was before the Cleaner was built once (e93038b)."""

    def absolute(url: str) -> str:
        if url.startswith("#") or urlsplit(url).scheme:
            return url
        return urljoin(site_url, url)

    def media_source(url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or url.startswith(("/", "#")) or "\\" in url:
            return None
        path = unquote(parts.path)
        return posixpath.normpath(path) if path else None

    def classes(tag: str, value: str) -> str | None:
        allowed = ALLOWED_CLASSES.get(tag, set())
        kept = [
            name
            for name in value.split()
            if name in allowed or (tag == "code" and re.fullmatch(r"language-[\w+#.-]+", name))
        ]
        return " ".join(kept) or None

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "id":
            return value if re.fullmatch(r"fn(?:ref)?-[^\s]+", value) else None
        if attribute == "style":
            return value if re.fullmatch(r"text-align:\s*(left|right|center)", value) else None
        if attribute == "align":
            return value if value in ("left", "right", "center") else None
        if attribute == "href":
            return absolute(value)
        if attribute == "class":
            return classes(tag, value)
        if attribute == "src" and tag == "img":
            local = media_source(value)
            if local is None:
                return absolute(value)
            found.append(local)
            return site_url + quote(f"media/{article_id}/{posixpath.basename(local)}")
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


URLS = [
    "page.html",
    "../up/x.html?a=1&b=2",
    "#fn-1",
    "/root",
    "//host.example/x",
    "https://a.example/x",
    "mailto:a@example.org",
    "img/a b.png",
    "img/%C3%A9.jpg",
    "./a/../b.gif",
    "a\\b.png",
    "",
    "?q",
    "HTTP://UPPER.example/",
    "ftp://x.example/",
]
ATTRIBUTE_VALUES = [
    "left",
    "LEFT",
    "center ",
    "right",
    "text-align: right",
    "text-align:center;color:red",
    "fn-1",
    "fnref-a-2",
    "fn- x",
    "main",
    "language-py",
    "language-c++ evil",
    "footnote-ref",
    "footnotes x",
    "footnote-backref",
    'a"b',
    "x&amp;y",
]
TAGS = ["a", "img", "td", "th", "code", "sup", "section", "li", "ol", "input", "time", "div", "p"]
ATTRIBUTES = ["href", "src", "id", "class", "style", "align", "title", "start", "type", "onclick"]


@st.composite
def html_element(draw: st.DrawFn) -> str:
    """A raw HTML element with attributes from every branch of the attribute filter."""
    tag = draw(st.sampled_from(TAGS))
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(ATTRIBUTES), st.sampled_from(URLS + ATTRIBUTE_VALUES)),
            max_size=4,
        )
    )
    quoted = "".join(f' {name}="{value.replace(chr(34), "&quot;")}"' for name, value in pairs)
    element = f"<{tag}{quoted}>x</{tag}>"
    if tag in ("td", "th"):  # outside a table the HTML parser drops a cell's tag
        return f"<table><tr>{element}</tr></table>"
    return f"<ul>{element}</ul>" if tag == "li" else element


@st.composite
def markdown_piece(draw: st.DrawFn) -> str:
    url = draw(st.sampled_from(URLS)).replace(" ", "%20")
    return draw(
        st.sampled_from(
            [
                f"[link]({url})",
                f'![alt]({url} "title")',
                f"<{url}>",
                "Text with a footnote[^1].\n\n[^1]: The note.",
                "| a | b |\n|:-:|--:|\n| 1 | 2 |",
                "- [x] done\n- [ ] not",
                "```python\nprint(1)\n```",
                "# Heading\n\npara *em* **strong** ~~del~~",
                "https://bare.example/path",
                draw(html_element()),
                draw(hostile_fragment()),
            ]
        )
    )


def _same(markdown: str, site_url: str) -> None:
    raw = render_html(markdown)
    expected_images: list[str] = []
    expected = reference_sanitise(raw, site_url, "a b", expected_images)
    images: list[str] = []
    assert sanitise(raw, site_url, "a b", images) == expected
    assert images == expected_images


@PROPERTY
@given(
    st.lists(markdown_piece(), min_size=1, max_size=6),
    st.sampled_from(["\n\n", " ", "\n"]),
    st.sampled_from(SITES),
)
def test_generated_markdown_sanitises_as_before(
    pieces: list[str], joint: str, site_url: str
) -> None:
    _same(joint.join(pieces), site_url)


@PROPERTY
@given(st.lists(html_element(), min_size=1, max_size=6), st.sampled_from(SITES))
def test_raw_html_attributes_sanitise_as_before(elements: list[str], site_url: str) -> None:
    raw = "".join(elements)  # given to the sanitiser as it is, not through the parser
    expected_images: list[str] = []
    images: list[str] = []
    assert sanitise(raw, site_url, "id", images) == reference_sanitise(
        raw, site_url, "id", expected_images
    )
    assert images == expected_images


def test_every_spec_example_sanitises_as_before() -> None:
    for example in json.loads(SPEC.read_text(encoding="utf-8")):
        _same(example["markdown"], SITES[0])


def test_threads_keep_their_own_site_article_and_images() -> None:
    """Calls on several threads at once: each gets its own links and images, none another's."""
    cases = [
        (f"![i](pic{n}.png) [l](p{n}.html) <img src='x{n}.jpg'>", SITES[n % 2], f"art{n}")
        for n in range(64)
    ]
    raws = [(render_html(text), site, art) for text, site, art in cases]

    def run(case: tuple[str, str, str]) -> tuple[str, list[str]]:
        images: list[str] = []
        return sanitise(*case, images), images

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, raws * 20))
    for (raw, site, art), (html, images) in zip(raws * 20, results, strict=True):
        reference_images: list[str] = []
        assert html == reference_sanitise(raw, site, art, reference_images)
        assert images == reference_images


def test_every_tag_attribute_and_value_sanitises_as_before() -> None:
    """Each (tag, attribute, value) of the lists above, alone: no branch left to chance."""
    for tag in TAGS:
        for name in ATTRIBUTES:
            for value in URLS + ATTRIBUTE_VALUES:
                raw = f'<{tag} {name}="{value.replace(chr(34), "&quot;")}">x</{tag}>'
                raw = f"<table><tr>{raw}</tr></table>" if tag in ("td", "th") else raw
                images: list[str] = []
                expected_images: list[str] = []
                assert sanitise(raw, SITES[1], "id", images) == reference_sanitise(
                    raw, SITES[1], "id", expected_images
                ), raw
                assert images == expected_images
