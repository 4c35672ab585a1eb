"""subscribe.html: how a person subscribes, linked from every page, seen in a real browser."""

from __future__ import annotations

import posixpath
import urllib.parse
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import Site
from tests.support_web import BASE, FEED_FILES, build, channels, html_pages, make_site, parse_html


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("subscribe"))
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\ntags: Київ, Транспорт\n\nТекст.\n")
    site.seed("culture/b.txt", "date 2026-02-11\ntitle Книжки\n\nЯрмарок.\n")
    build(site)
    return site


def _copy_fields(site: Site) -> list[str]:
    page = parse_html(site.out / "subscribe.html")
    return [str(v) for v in page.xpath("//input[@readonly]/@value")]


def test_every_page_links_to_the_subscribe_page(built: Site) -> None:
    missing = []
    for path in html_pages(built):
        rel = str(path.relative_to(built.out))
        hrefs = parse_html(path).xpath("//a/@href")
        targets = {posixpath.normpath(posixpath.join(posixpath.dirname(rel), h)) for h in hrefs}
        if "subscribe.html" not in targets:
            missing.append(rel)
    assert len(html_pages(built)) > 5
    assert missing == []


def test_subscribe_page_explains_what_a_feed_is(built: Site) -> None:
    page = parse_html(built.out / "subscribe.html")
    headings = [h.text_content() for h in page.xpath("//h2")]
    assert "Що таке стрічка?" in headings
    assert "програма для читання" in page.text_content()


def test_subscribe_page_offers_every_feed_url_to_copy(built: Site) -> None:
    expected = [BASE + folder + name for folder in channels(built) for name in FEED_FILES]
    assert len(expected) == 4 * 3  # the site, two tags, one section
    assert sorted(_copy_fields(built)) == sorted(expected)


def test_every_feed_url_to_copy_is_a_published_file(built: Site) -> None:
    for url in _copy_fields(built):
        assert (built.out / url.removeprefix(BASE)).is_file(), url


def test_subscribe_page_has_one_click_links_for_common_readers(built: Site) -> None:
    page = parse_html(built.out / "subscribe.html")
    rss = BASE + "rss.xml"
    hrefs = set(page.xpath("//a/@href"))
    assert "https://feedly.com/i/subscription/feed/" + urllib.parse.quote(rss, safe="") in hrefs
    assert "https://www.inoreader.com/?add_feed=" + urllib.parse.quote(rss, safe="") in hrefs
    # No feed:https://… link: not a valid URL (Nu HTML checker); native readers copy the address.
    assert not [href for href in hrefs if href.startswith("feed:")]


def test_every_tag_feed_has_its_own_one_click_links(built: Site) -> None:
    hrefs = set(parse_html(built.out / "subscribe.html").xpath("//a/@href"))
    for folder in channels(built):
        rss = urllib.parse.quote(BASE + folder + "rss.xml", safe="")
        assert "https://feedly.com/i/subscription/feed/" + rss in hrefs, folder


def test_subscribe_page_renders_in_chromium(built: Site, tmp_path: Path) -> None:
    url = (built.out / "subscribe.html").as_uri()
    png = browser.screenshot(url, tmp_path / "subscribe.png")
    assert browser.non_blank_fraction(png) > 0.03
    dom = browser.dump_dom(url)
    assert "Що таке стрічка?" in dom
    assert f'value="{BASE}tags/kyiv/atom.xml"' in dom
