"""No script, style, iframe, event attribute or javascript: URL from a `.md` seed reaches a
page, a feed or a mail (SPEC 2a), whatever the raw HTML or Markdown holds."""

from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import lxml.html
from hypothesis import given
from hypothesis import strategies as st

from feeds.read.md_reader import parse_markdown
from feeds.site.content import blocks_to_html
from tests.conftest import Site
from tests.hypothesis_profiles import PROPERTY

FORBIDDEN_TAGS = {"script", "style", "iframe", "object", "embed", "svg", "math", "form", "frame"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcset", "poster", "xlink:href"}
SAFE_SCHEMES = ("http:", "https:", "mailto:")

EVENTS = ["onerror", "onload", "onclick", "onmouseover", "onfocus", "onanimationstart"]
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<iframe src=https://evil.example></iframe>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<object data=javascript:alert(1)></object><embed src=x>",
    "<form action=javascript:alert(1)><button formaction=javascript:alert(1)>x</button></form>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--<script>-->alert(1)<!--</script>-->",
]


@st.composite
def javascript_url(draw: st.DrawFn) -> str:
    """`javascript:` with its letters in any case, some as entities, tabs and newlines inside."""
    out = [draw(st.sampled_from(["", " ", "\t", "\x01"]))]
    for char in "javascript:":
        char = draw(st.sampled_from([char.lower(), char.upper()]))
        form = draw(st.integers(0, 3))
        if form == 1:
            char = f"&#{ord(char)};"
        elif form == 2:
            char = f"&#x{ord(char):x};"
        out.append(char + draw(st.sampled_from(["", "", "\t", "&#9;", "&#10;"])))
    return "".join(out) + "alert(1)"


@st.composite
def hostile_fragment(draw: st.DrawFn) -> str:
    url = draw(javascript_url())
    event = "".join(
        draw(st.sampled_from([c.lower(), c.upper()])) for c in draw(st.sampled_from(EVENTS))
    )
    gap = draw(st.sampled_from([" ", "/", "\n", " \t"]))
    quote = draw(st.sampled_from(['"', "'", ""]))
    return draw(
        st.sampled_from(
            [
                draw(st.sampled_from(PAYLOADS)),
                f"<a{gap}href={quote}{url}{quote}>x</a>",
                f"<img{gap}src=x{gap}{event}={quote}alert(1){quote}>",
                f"<div{gap}{event}={quote}alert(1){quote}>x</div>",
                f"[link]({url.replace(' ', '')})",
                f"![img]({url.replace(' ', '')})",
                f"<{url.replace(' ', '')}>",
                f"[ref]\n\n[ref]: {url.replace(' ', '')}",
            ]
        )
    )


def assert_clean(html: str) -> None:
    """Parse html and check every element and attribute (not substrings)."""
    if not html.strip():
        return
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag.lower() not in FORBIDDEN_TAGS, html
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), html
            if name.lower() in URL_ATTRIBUTES:
                squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
                if ":" in squeezed.split("/")[0].split("?")[0].split("#")[0]:
                    assert squeezed.startswith(SAFE_SCHEMES), html


@PROPERTY
@given(st.lists(hostile_fragment(), min_size=1, max_size=4), st.sampled_from(["\n\n", " ", "\n"]))
def test_hostile_markdown_renders_without_script_events_or_javascript_urls(
    fragments: list[str], joiner: str
) -> None:
    text = "---\ntitle: T\ndate: 2026-01-01\n---\nIntro.\n\n" + joiner.join(fragments)
    article = parse_markdown("x.md", "x", text, ZoneInfo("UTC"), "https://news.example.org/")
    assert_clean(str(blocks_to_html(article.blocks)))


def test_hostile_markdown_reaches_no_page_feed_or_digest(site: Site) -> None:
    body = "\n\n".join([*PAYLOADS, "<a href='jav&#x09;ascript:alert(1)' onclick=x>a</a>"])
    site.seed("hostile.md", f"---\ntitle: Hostile\ndate: 2026-02-20\n---\nText.\n\n{body}\n")
    assert site.main("build", "--now", "2026-02-21T09:00") == 0
    assert site.main("digest", "--now", "2026-02-21T09:00") == 0
    out = site.out
    pages = [out / "articles" / "hostile.html", *sorted((out / "digests").glob("*.html"))]
    for page in pages:
        document = lxml.html.parse(str(page)).getroot()
        assert "Text." in page.read_text(encoding="utf-8") or "digests" in str(page)
        for element in document.iter():
            if isinstance(element.tag, str) and element.tag == "script":
                raise AssertionError(f"script in {page}")
        body_html = lxml.html.tostring(document.body, encoding="unicode")
        assert_clean(body_html.replace("<body", "<div").replace("</body>", "</div>"))
    feed = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    assert "Text." in feed["items"][0]["content_html"]
    assert_clean(feed["items"][0]["content_html"])
    for name, tag in (
        ("rss.xml", "{*}encoded"),
        ("atom.xml", "{http://www.w3.org/2005/Atom}content"),
    ):
        tree = lxml.etree.parse(str(out / name))
        contents = [node.text or "" for node in tree.iter(tag)]
        assert contents and all("Text." in html for html in contents)
        for html in contents:
            assert_clean(html)
