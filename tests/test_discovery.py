"""sitemap.xml, robots.txt, opml.xml, Open Graph / Twitter meta and canonical links."""

from __future__ import annotations

from collections import Counter
from typing import Any

import feedparser
import lxml.etree
import pytest

from feeds.site import discovery
from tests.conftest import Site
from tests.support_web import BASE, build, channels, html_pages, local_path, make_site, parse_html

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("discovery"))
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\ntags: Київ\nsummary: Коротко.\n\nТекст.\n")
    site.seed("b.txt", "date 2026-02-11T09:30\ntitle Міст\ntags: Київ, Дороги\n\nТекст.\n")
    site.seed("sport/c.txt", "date 2026-02-12\ntitle Матч\n\nГол.\n")
    build(site)
    return site


def _locs(site: Site, name: str, kind: str = "url") -> list[str]:
    root = lxml.etree.parse(str(site.out / name)).getroot()
    return [str(loc.text) for loc in root.iterfind(f"{SM}{kind}/{SM}loc")]


def _sitemap_urls(site: Site) -> list[str]:
    urls = []
    for child in _locs(site, "sitemap.xml", "sitemap"):
        urls += _locs(site, child.removeprefix(BASE))
    return urls


def test_sitemap_is_an_index_of_the_page_and_article_sitemaps(built: Site) -> None:
    root = lxml.etree.parse(str(built.out / "sitemap.xml")).getroot()
    assert root.tag == f"{SM}sitemapindex"
    assert _locs(built, "sitemap.xml", "sitemap") == [
        BASE + "sitemap-pages.xml",
        BASE + "sitemap-1.xml",
    ]


def test_sitemap_lists_every_article_page_once(built: Site) -> None:
    articles = sorted(BASE + str(p.relative_to(built.out)) for p in built.out.glob("articles/*"))
    listed = [u for u in _sitemap_urls(built) if u.startswith(BASE + "articles/")]
    assert sorted(listed) == articles
    assert len(set(listed)) == len(listed) == 3


def test_sitemap_lists_home_archive_subscribe_and_group_pages(built: Site) -> None:
    pages = _locs(built, "sitemap-pages.xml")
    for path in ("", "archive/", "subscribe.html", "tags/kyiv/", "tags/dorohy/", "sections/sport/"):
        assert BASE + path in pages


def test_every_sitemap_url_is_a_published_page(built: Site) -> None:
    for url in _sitemap_urls(built):
        assert local_path(built, url).is_file(), url


def test_article_sitemap_lastmod_is_the_article_date(built: Site) -> None:
    root = lxml.etree.parse(str(built.out / "sitemap-1.xml")).getroot()
    lastmod = {
        url.findtext(f"{SM}loc"): url.findtext(f"{SM}lastmod") for url in root.iter(f"{SM}url")
    }
    assert lastmod[BASE + "articles/mist.html"] == "2026-02-11T09:30:00+02:00"


def test_sitemap_chunks_keep_old_articles_in_place() -> None:
    # Oldest first in fixed chunks: a new article changes only the last chunk.
    oldest_first: list[Any] = [str(n) for n in range(discovery.SITEMAP_CHUNK + 5)]
    chunks: list[tuple[Any, ...]] = discovery.sitemap_chunks(oldest_first[::-1])
    assert [len(c) for c in chunks] == [discovery.SITEMAP_CHUNK, 5]
    assert chunks[0][0] == "0"


def test_robots_txt_allows_crawling_and_names_the_sitemap(built: Site) -> None:
    lines = (built.out / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines
    assert not any(line.startswith("Disallow: /") for line in lines)
    assert f"Sitemap: {BASE}sitemap.xml" in lines


def test_opml_lists_every_feed_channel_the_site_publishes(built: Site) -> None:
    root = lxml.etree.parse(str(built.out / "opml.xml")).getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("body/outline")
    folders = channels(built)
    assert [o.get("xmlUrl") for o in outlines] == [BASE + c + "rss.xml" for c in folders]
    assert [o.get("htmlUrl") for o in outlines] == [BASE + c for c in folders]
    assert all(o.get("type") == "rss" and o.get("text") for o in outlines)


def test_every_opml_feed_parses_and_its_page_exists(built: Site) -> None:
    root = lxml.etree.parse(str(built.out / "opml.xml")).getroot()
    for outline in root.iter("outline"):
        parsed = feedparser.parse(str(local_path(built, str(outline.get("xmlUrl")))))
        assert parsed.bozo == 0 and parsed.entries, outline.get("xmlUrl")
        assert parsed.feed.title == outline.get("title")
        assert local_path(built, str(outline.get("htmlUrl"))).is_file()


def test_article_page_has_open_graph_meta(built: Site) -> None:
    page = parse_html(built.out / "articles/metro.html")

    def og(name: str) -> list[str]:
        return [str(v) for v in page.xpath(f"//meta[@property='{name}']/@content")]

    assert og("og:type") == ["article"]
    assert og("og:title") == ["Метро"]
    assert og("og:description") == ["Коротко."]
    assert og("og:url") == [BASE + "articles/metro.html"]
    assert og("og:site_name") == ["Тестові новини"]
    assert og("article:published_time") == ["2026-02-10T00:00:00+02:00"]


def test_article_page_has_twitter_card_meta(built: Site) -> None:
    page = parse_html(built.out / "articles/metro.html")

    def tw(name: str) -> list[str]:
        return [str(v) for v in page.xpath(f"//meta[@name='{name}']/@content")]

    assert tw("twitter:card") == ["summary"]
    assert tw("twitter:title") == ["Метро"]
    assert tw("twitter:description") == ["Коротко."]


def test_every_page_has_one_absolute_canonical_link_to_itself(built: Site) -> None:
    for path in html_pages(built):
        canonical = parse_html(path).xpath("//head/link[@rel='canonical']/@href")
        assert len(canonical) == 1, path
        assert canonical[0].startswith(BASE), path
        assert local_path(built, canonical[0]) == path


def test_canonical_links_match_the_sitemap(built: Site) -> None:
    canonical = {
        str(parse_html(p).xpath("//head/link[@rel='canonical']/@href")[0])
        for p in html_pages(built)
    }
    listed = _sitemap_urls(built)
    assert Counter(listed).most_common(1)[0][1] == 1
    assert set(listed) <= canonical


def test_home_page_announces_the_site_feeds(built: Site) -> None:
    page = parse_html(built.out / "index.html")
    found = [
        (link.get("type"), link.get("href")) for link in page.xpath("//head/link[@rel='alternate']")
    ]
    assert found == [
        ("application/rss+xml", BASE + "rss.xml"),
        ("application/atom+xml", BASE + "atom.xml"),
        ("application/feed+json", BASE + "feed.json"),
    ]
    assert feedparser.parse(str(built.out / "rss.xml")).feed.title == "Тестові новини"


def test_fresh_build_is_byte_identical_to_a_rebuild(
    built: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = make_site(tmp_path_factory.mktemp("discovery-again"))
    for seed in built.seeds.rglob("*.txt"):
        again.seed(str(seed.relative_to(built.seeds)), seed.read_bytes())
    build(again)
    names = ("sitemap.xml", "sitemap-pages.xml", "sitemap-1.xml", "robots.txt", "opml.xml")
    for name in names:
        assert (again.out / name).read_bytes() == (built.out / name).read_bytes(), name
