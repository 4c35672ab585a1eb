"""RFC 5005 archived feeds: the complete history, in pages frozen once full.

Pages fill in publication order, feed.max_items each; only full pages are published. The
subscription feed holds the newest feed.max_items articles plus any unarchived older one, so
the feed and the pages together hold every article.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import pytest

from tests.conftest import Site
from tests.support_web import ATOM, BASE, build, local_path, make_site, numbered_seeds

FH = "{http://purl.org/syndication/history/1.0}"
PAGE = 3
TEN = 10


def archive_site(root: Path, count: int) -> tuple[Site, list[str]]:
    site = make_site(root, f"\n[feed]\nmax_items = {PAGE}\n")
    return site, numbered_seeds(site, count)


@pytest.fixture(scope="module")
def ten(tmp_path_factory: pytest.TempPathFactory) -> tuple[Site, list[str]]:
    site, titles = archive_site(tmp_path_factory.mktemp("archive"), TEN)
    build(site)
    return site, titles


def _links(parsed: Any, rel: str) -> list[str]:
    return [link.href for link in parsed.feed.get("links", []) if link.rel == rel]


def walk(site: Site, start: str = "atom.xml") -> list[tuple[str, list[str]]]:
    """Follow prev-archive from a feed like an RFC 5005 client: (document, entry ids)."""
    seen: list[tuple[str, list[str]]] = []
    url = BASE + start
    while url:
        assert url not in [u for u, _ in seen], f"prev-archive loop at {url}"
        parsed = feedparser.parse(str(local_path(site, url)))
        assert parsed.bozo == 0, (url, parsed.get("bozo_exception"))
        seen.append((url, [e.id for e in parsed.entries]))
        previous = _links(parsed, "prev-archive")
        assert len(previous) <= 1
        url = previous[0] if previous else ""
    return seen


def _pages(site: Site) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (site.out / "archive").glob("feed-*.xml")}


def _add(site: Site, n: int, date: str = "") -> None:
    when = date or f"2026-02-{n:02d}"
    site.seed(f"a{n:02d}.txt", f"date {when}\ntitle Новина номер {n}\n\nТекст {n}.\n")


def _archived_titles(site: Site) -> dict[str, list[str]]:
    return {
        name: [e.title for e in feedparser.parse(data).entries]
        for name, data in sorted(_pages(site).items())
    }


def test_walk_from_atom_xml_collects_every_article_exactly_once(
    ten: tuple[Site, list[str]],
) -> None:
    site, _ = ten
    documents = walk(site)
    assert [url for url, _ in documents] == [
        BASE + "atom.xml",
        BASE + "archive/feed-3.xml",
        BASE + "archive/feed-2.xml",
        BASE + "archive/feed-1.xml",
    ]
    archived = [i for _, ids in documents[1:] for i in ids]
    assert len(archived) == len(set(archived)) == 9
    every = set(archived) | set(documents[0][1])
    assert sorted(every) == [f"tag:news.example.org,2026:a{n:02d}" for n in range(1, TEN + 1)]


def test_walk_from_rss_xml_reaches_the_same_archive(ten: tuple[Site, list[str]]) -> None:
    site, _ = ten
    assert [u for u, _ in walk(site, "rss.xml")[1:]] == [u for u, _ in walk(site)[1:]]


def test_archive_pages_hold_max_items_oldest_first_full_pages_only(
    ten: tuple[Site, list[str]],
) -> None:
    site, _ = ten
    assert _archived_titles(site) == {
        "feed-1.xml": ["Новина номер 3", "Новина номер 2", "Новина номер 1"],
        "feed-2.xml": ["Новина номер 6", "Новина номер 5", "Новина номер 4"],
        "feed-3.xml": ["Новина номер 9", "Новина номер 8", "Новина номер 7"],
    }


def test_subscription_feed_holds_the_newest_max_items(ten: tuple[Site, list[str]]) -> None:
    site, titles = ten
    parsed = feedparser.parse(str(site.out / "atom.xml"))
    assert [e.title for e in parsed.entries] == list(reversed(titles[-PAGE:]))


def test_archive_pages_are_marked_archive_and_link_current(ten: tuple[Site, list[str]]) -> None:
    site, _ = ten
    for page in sorted((site.out / "archive").glob("feed-*.xml")):
        root = lxml.etree.parse(str(page)).getroot()
        assert root.find(f"{FH}archive") is not None, page
        current = [
            link.get("href")
            for link in root.iterfind(f"{ATOM}link")
            if link.get("rel") == "current"
        ]
        assert current == [BASE + "atom.xml"]


def test_subscription_feed_is_not_marked_archive(ten: tuple[Site, list[str]]) -> None:
    site, _ = ten
    root = lxml.etree.parse(str(site.out / "atom.xml")).getroot()
    assert root.find(f"{FH}archive") is None


def test_archive_pages_link_next_archive_except_the_newest(ten: tuple[Site, list[str]]) -> None:
    site, _ = ten
    nexts = {
        n: _links(feedparser.parse(str(site.out / f"archive/feed-{n}.xml")), "next-archive")
        for n in (1, 2, 3)
    }
    assert nexts == {
        1: [BASE + "archive/feed-2.xml"],
        2: [BASE + "archive/feed-3.xml"],
        3: [],
    }


def test_site_without_articles_has_no_archive(site: Site) -> None:
    build(site)
    assert not list(site.out.glob("archive/feed-*.xml"))
    assert _links(feedparser.parse(str(site.out / "atom.xml")), "prev-archive") == []


def _strip_next_archive(data: bytes) -> bytes:
    root = lxml.etree.fromstring(data)
    for link in root.iterfind(f"{ATOM}link"):
        if link.get("rel") == "next-archive":
            root.remove(link)
    return bytes(lxml.etree.tostring(root))


def test_full_archive_pages_are_byte_stable_when_newer_articles_arrive(tmp_path: Path) -> None:
    site, _ = archive_site(tmp_path, TEN)
    build(site)
    before = _pages(site)
    _add(site, 11)  # page 4 is not full yet: no page is written
    build(site)
    assert _pages(site) == before
    _add(site, 12)  # fills page 4
    build(site)
    final = _pages(site)
    assert sorted(final) == [f"feed-{n}.xml" for n in range(1, 5)]
    assert all(final[k] == before[k] for k in ("feed-1.xml", "feed-2.xml"))
    # the newest full page changes once more, only to gain its next-archive link
    assert final["feed-3.xml"] != before["feed-3.xml"]
    assert _strip_next_archive(final["feed-3.xml"]) == _strip_next_archive(before["feed-3.xml"])
    assert _links(feedparser.parse(final["feed-3.xml"]), "next-archive") == [
        BASE + "archive/feed-4.xml"
    ]


def test_late_back_dated_article_stays_in_the_feed_until_its_page_fills(tmp_path: Path) -> None:
    site, _ = archive_site(tmp_path, TEN)
    build(site)
    before = _pages(site)
    _add(site, 99, date="2026-01-15")  # dated before every archived article
    build(site)  # same --now: publication order, not the clock, decides
    assert _pages(site) == before
    feed = [e.title for e in feedparser.parse(str(site.out / "atom.xml")).entries]
    assert feed == ["Новина номер 10", "Новина номер 9", "Новина номер 8", "Новина номер 99"]
    _add(site, 13)  # the tail (10, 99, 13) is a full page now
    build(site)
    assert _archived_titles(site)["feed-4.xml"] == [
        "Новина номер 13",
        "Новина номер 10",
        "Новина номер 99",
    ]
    feed = [e.title for e in feedparser.parse(str(site.out / "atom.xml")).entries]
    assert "Новина номер 99" not in feed


def test_archive_pages_are_not_rewritten_when_unchanged(tmp_path: Path) -> None:
    site, _ = archive_site(tmp_path, TEN)
    build(site)
    page = site.out / "archive/feed-1.xml"
    stamp = page.stat().st_mtime_ns
    _add(site, 11)
    build(site)
    assert page.stat().st_mtime_ns == stamp


def test_subscription_feeds_point_prev_archive_at_the_newest_page(tmp_path: Path) -> None:
    site, _ = archive_site(tmp_path, TEN)
    build(site)
    _add(site, 13)  # 11 articles: still three full pages
    build(site)
    for feed in ("atom.xml", "rss.xml"):
        parsed = feedparser.parse(str(site.out / feed))
        assert _links(parsed, "prev-archive") == [BASE + "archive/feed-3.xml"], feed
    _add(site, 14)  # 12 articles: page 4 is full
    build(site)
    for feed in ("atom.xml", "rss.xml"):
        parsed = feedparser.parse(str(site.out / feed))
        assert _links(parsed, "prev-archive") == [BASE + "archive/feed-4.xml"], feed
