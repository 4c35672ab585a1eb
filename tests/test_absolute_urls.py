"""Absolute URLs wherever a reader or mail client meets them (they ignore xml:base)."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import lxml.etree
import pytest

from tests.conftest import Site
from tests.support_web import (
    BASE,
    build,
    feed_files,
    html_pages,
    html_urls,
    is_absolute,
    make_site,
    parse_html,
)

URL_ATTRIBUTES = {"href", "src", "url", "xmlUrl", "htmlUrl", "uri"}
URL_ELEMENTS = {"link", "loc", "comments", "docs", "icon", "logo", "uri"}
HTML_ELEMENTS = {"description", "summary", "content", "encoded"}  # encoded: content:encoded
ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_URL_KEYS = {
    "url",
    "external_url",
    "image",
    "banner_image",
    "home_page_url",
    "feed_url",
    "icon",
    "favicon",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(
        tmp_path_factory.mktemp("absolute"),
        '\n[feed]\nmax_items = 2\nwebsub_hub = "https://hub.example.net/"\n',
    )
    site.seed("kyiv/photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    site.seed(
        "kyiv/metro.txt",
        "date 2026-02-10\ntitle Метро\ntags: Київ\nimage: photo.png\n\n"
        'Див. https://example.com/a?b=1&c=2 та <a href="/relative">це</a>.\n',
    )
    site.seed("b.txt", "date 2026-02-11\ntitle Міст\ntags: Київ\n\nТекст https://x.example/y.\n")
    site.seed("c.txt", "date 2026-02-12\ntitle Матч\n\nГол.\n")
    build(site)
    return site


def xml_urls(path: Path) -> Iterator[str]:
    """Every URL in an XML feed, sitemap or OPML, including inside escaped HTML content."""
    for element in lxml.etree.parse(str(path)).getroot().iter():
        if not isinstance(element.tag, str):
            continue
        name = lxml.etree.QName(element).localname
        for attribute, value in element.attrib.items():
            if lxml.etree.QName(attribute).localname in URL_ATTRIBUTES:
                yield value
        text = (element.text or "").strip()
        if name in URL_ELEMENTS and text:
            yield text
        # Atom text constructs are plain text unless typed; RSS fields are HTML.
        default = "text" if lxml.etree.QName(element).namespace == ATOM_NS else "html"
        if name in HTML_ELEMENTS and text and element.get("type", default) == "html":
            yield from html_urls(text)
        if name == "guid" and element.get("isPermaLink", "true") == "true":
            yield text


def json_urls(value: Any) -> Iterator[str]:
    """Every URL in a JSON Feed: URL keys, hub URLs and links inside content_html."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in JSON_URL_KEYS and isinstance(item, str):
                yield item
            elif key == "content_html":
                yield from html_urls(item)
            else:
                yield from json_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_urls(item)


def relative_urls(site: Site, path: Path) -> list[str]:
    urls = (
        json_urls(json.loads(path.read_text(encoding="utf-8")))
        if path.suffix == ".json"
        else xml_urls(path)
    )
    return [url for url in urls if not is_absolute(url)]


def test_the_walk_finds_urls_in_feed_content(built: Site) -> None:
    # The walk itself must see links inside escaped content, or it proves nothing.
    urls = list(xml_urls(built.out / "rss.xml"))
    assert "https://x.example/y" in urls
    assert BASE + "media/metro/photo.png" in list(xml_urls(built.out / "tags/kyiv/atom.xml"))
    assert "https://x.example/y" in list(
        json_urls(json.loads((built.out / "feed.json").read_text()))
    )


def test_seed_markup_never_becomes_a_link_in_any_feed(built: Site) -> None:
    # The seed's literal <a href="/relative"> is text: escaped once more wherever
    # readers take the field as HTML (RSS description, content), never a link.
    for path in feed_files(built):
        if path.suffix == ".json":
            urls = list(json_urls(json.loads(path.read_text(encoding="utf-8"))))
        else:
            urls = list(xml_urls(path))
        assert "/relative" not in urls, path


def test_every_url_in_every_feed_is_absolute(built: Site) -> None:
    files = feed_files(built)
    assert len(files) >= 10  # site, tag, section and archive feeds
    found = {str(p.relative_to(built.out)): relative_urls(built, p) for p in files}
    assert {name: urls for name, urls in found.items() if urls} == {}


@pytest.mark.parametrize("name", ["sitemap.xml", "sitemap-pages.xml", "sitemap-1.xml", "opml.xml"])
def test_every_url_in_discovery_files_is_absolute(built: Site, name: str) -> None:
    urls = list(xml_urls(built.out / name))
    assert urls
    assert [u for u in urls if not u.startswith(BASE)] == []


def test_page_heads_use_absolute_urls_for_machines(built: Site) -> None:
    # Body links stay relative so the folder previews anywhere; what crawlers, feed
    # readers and link previews read from <head> is absolute.
    bad = []
    for path in html_pages(built):
        page = parse_html(path)
        values = page.xpath(
            "//head/link[@rel='canonical' or @rel='alternate']/@href"
            " | //head/meta[starts-with(@property, 'og:') and"
            " (@property='og:url' or @property='og:image')]/@content"
            " | //head/meta[@name='twitter:image']/@content"
        )
        bad += [(path.name, v) for v in values if not str(v).startswith(BASE)]
    assert bad == []


def _digest_files(site: Site) -> list[Path]:
    """The published digest documents of one week (html, txt, eml); not the index page."""
    assert site.main("digest", "--week", "2026-W07", "--now", "2026-03-01") == 0
    return sorted((site.out / "digests").glob("2026-W07.*"))


def test_every_href_and_src_in_the_digest_is_absolute(built: Site) -> None:
    files = _digest_files(built)
    assert [p.suffix for p in files] == [".eml", ".html", ".txt"]
    bad = []
    for path in files:
        if path.suffix == ".html":
            bad += [u for u in html_urls(path.read_text(encoding="utf-8")) if not is_absolute(u)]
        elif path.suffix == ".eml":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            part = message.get_body(("html",))
            assert part is not None
            html = part.get_content()
            assert "https://news.example.org/articles/metro.html" in html_urls(html)
            bad += [u for u in html_urls(html) if not is_absolute(u)]
    assert bad == []
