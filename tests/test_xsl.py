"""feed.xsl: the browser view of the raw feeds, run by lxml's XSLT and by Chromium."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests import browser
from tests.conftest import REPO, Site
from tests.support_web import ATOM, build, feed_files, feeds_serve, make_site

HOSTILE = (
    'Текст <script>alert("x")</script> та <b onclick="boom()">жирний</b> R&D &amp; it\'s кінець.'
)
XML_FEEDS = ("rss.xml", "atom.xml", "tags/kyiv/rss.xml", "tags/kyiv/atom.xml")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("xsl"), "\n[feed]\nmax_items = 2\n")
    site.seed("a.txt", "date 2026-02-10\ntitle Метро подовжує роботу\ntags: Київ\n\nТекст.\n")
    site.seed("b.txt", f"date 2026-02-11\ntitle Небезпечний текст\ntags: Київ\n\n{HOSTILE}\n")
    site.seed("c.txt", "date 2026-02-12\ntitle Ярмарок у Львові\n\nКниги.\n")
    build(site)
    return site


def _view(site: Site, feed: str) -> str:
    """The feed transformed by the feed.xsl it references, serialised as HTML."""
    document = lxml.etree.parse(str(site.out / feed))
    stylesheet = lxml.etree.XSLT(lxml.etree.parse(str(site.out / "feed.xsl")))
    return str(stylesheet(document))


def _stylesheet_href(path: Path) -> str:
    pi = lxml.etree.parse(str(path)).getroot().getprevious()
    assert isinstance(pi, lxml.etree._XSLTProcessingInstruction), path
    assert pi.get("type") == "text/xsl"
    return str(pi.get("href"))


def test_every_xml_feed_references_feed_xsl(built: Site) -> None:
    xml_feeds = [p for p in feed_files(built) if p.suffix == ".xml"]
    names = {str(p.relative_to(built.out)) for p in xml_feeds}
    assert {*XML_FEEDS, "archive/feed-1.xml"} <= names
    for path in xml_feeds:
        href = _stylesheet_href(path)
        target = urllib.parse.urljoin(path.as_uri(), href)
        assert target == (built.out / "feed.xsl").as_uri(), path


@pytest.mark.parametrize("feed", XML_FEEDS)
def test_xsl_view_shows_the_feed_and_entry_titles(built: Site, feed: str) -> None:
    page = lxml.html.fromstring(_view(built, feed))
    parsed = feedparser.parse(str(built.out / feed))
    headings = [h.text_content().strip() for h in page.xpath("//h1 | //h2")]
    assert headings[0] == parsed.feed.title
    assert headings[1:] == [e.title for e in parsed.entries]


def test_xsl_view_of_an_archive_page_shows_its_entries(built: Site) -> None:
    page = lxml.html.fromstring(_view(built, "archive/feed-1.xml"))
    assert [h.text_content() for h in page.xpath("//h2")] == [
        "Небезпечний текст",
        "Метро подовжує роботу",
    ]


@pytest.mark.parametrize("feed", XML_FEEDS)
def test_xsl_output_is_a_complete_html_document(built: Site, feed: str) -> None:
    html = _view(built, feed)
    assert html.lstrip().lower().startswith("<!doctype html")
    assert html.rstrip().endswith("</html>")
    page = lxml.html.document_fromstring(html)
    assert page.tag == "html" and page.get("lang") == "uk"
    assert page.find("head/title") is not None


@pytest.mark.parametrize("feed", ["rss.xml", "atom.xml"])
def test_xsl_view_links_entries_to_their_article_pages(built: Site, feed: str) -> None:
    page = lxml.html.fromstring(_view(built, feed))
    parsed = feedparser.parse(str(built.out / feed))
    assert page.xpath("//h2/a/@href") == [e.link for e in parsed.entries]


@pytest.mark.parametrize("feed", ["rss.xml", "atom.xml"])
def test_xsl_view_shows_article_html_as_text_not_markup(built: Site, feed: str) -> None:
    page = lxml.html.fromstring(_view(built, feed))
    assert page.xpath("//script | //b | //*[@onclick]") == []
    assert HOSTILE in page.text_content()


def test_xsl_view_links_to_the_subscribe_page(built: Site) -> None:
    page = lxml.html.fromstring(_view(built, "rss.xml"))
    assert "https://news.example.org/subscribe.html" in page.xpath("//a/@href")


@pytest.mark.parametrize("feed", ["atom.xml", "tags/kyiv/atom.xml", "archive/feed-1.xml"])
def test_atom_feeds_with_the_stylesheet_still_validate(built: Site, feed: str) -> None:
    schema = lxml.etree.RelaxNG(lxml.etree.parse(str(REPO / "tests" / "fixtures" / "atom.rng")))
    document = lxml.etree.parse(str(built.out / feed))
    assert schema.validate(document), schema.error_log
    assert document.getroot().tag == f"{ATOM}feed"


@pytest.mark.parametrize("feed", XML_FEEDS)
def test_feeds_with_the_stylesheet_parse_cleanly_in_feedparser(built: Site, feed: str) -> None:
    parsed = feedparser.parse(str(built.out / feed))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.entries


def test_chromium_renders_the_rss_feed_through_feed_xsl(built: Site, tmp_path: Path) -> None:
    # Chromium refuses to load a stylesheet for a file:// document (a blank page), so
    # the view is checked the way a reader meets it: over HTTP, from `feeds serve`.
    with feeds_serve(built) as base:
        dom = browser.dump_dom(base + "rss.xml")
        png = browser.screenshot(base + "rss.xml", tmp_path / "rss.png")
    page = lxml.html.fromstring(dom)
    assert [h.text_content() for h in page.xpath("//h2")] == [
        "Ярмарок у Львові",
        "Небезпечний текст",
    ]
    assert page.xpath("//script") == []
    assert browser.non_blank_fraction(png) > 0.05


def test_rss_description_is_escaped_html_of_the_summary(built: Site) -> None:
    # Readers render an RSS description as HTML, so seed text must arrive escaped.
    item = next(
        i
        for i in lxml.etree.parse(str(built.out / "rss.xml")).iter("item")
        if i.findtext("title") == "Небезпечний текст"
    )
    description = item.findtext("description") or ""
    fragment = lxml.html.fragment_fromstring(description, create_parent="div")
    assert [el.tag for el in fragment.iter()] == ["div"]
    assert fragment.text_content() == HOSTILE


def test_xsl_view_works_without_disable_output_escaping(built: Site) -> None:
    # Firefox ignores disable-output-escaping: the view must not depend on it.
    stylesheet = lxml.etree.parse(str(built.out / "feed.xsl"))
    assert stylesheet.xpath("//@disable-output-escaping") == []
