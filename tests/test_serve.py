"""feeds serve and conditional GET: readers polling a preview don't refetch unchanged feeds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.support_web import build, feeds_serve, get, make_site


def seeded(root: Path) -> Site:
    site = make_site(root)
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\ntags: Київ\n\nТекст.\n")
    site.seed("b.txt", "date 2026-02-11\ntitle Міст\n\nТекст.\n")
    return site


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, str]]:
    site = seeded(tmp_path_factory.mktemp("serve"))
    build(site)
    with feeds_serve(site) as base:
        yield site, base


@pytest.mark.parametrize("path", ["rss.xml", "atom.xml", "feed.json", "tags/kyiv/"])
def test_serve_answers_200_with_etag_and_last_modified(served: tuple[Site, str], path: str) -> None:
    site, base = served
    response = get(base + path)
    assert response.status == 200
    assert response.header("ETag").startswith('"')
    parsedate_to_datetime(response.header("Last-Modified"))
    expected = site.out / (path + "index.html" if path.endswith("/") else path)
    assert response.body == expected.read_bytes()


def test_serve_answers_304_to_a_matching_if_none_match(served: tuple[Site, str]) -> None:
    _, base = served
    etag = get(base + "atom.xml").header("ETag")
    response = get(base + "atom.xml", {"If-None-Match": etag})
    assert response.status == 304
    assert response.body == b""
    assert response.header("ETag") == etag


def test_serve_answers_304_when_one_of_several_etags_matches(served: tuple[Site, str]) -> None:
    _, base = served
    etag = get(base + "rss.xml").header("ETag")
    assert get(base + "rss.xml", {"If-None-Match": f'"other", {etag}'}).status == 304


@pytest.mark.parametrize("form", ["weak", "star", "weak-in-a-list"])
def test_serve_answers_304_to_a_weak_or_star_if_none_match(
    served: tuple[Site, str], form: str
) -> None:
    _, base = served
    etag = get(base + "rss.xml").header("ETag")
    header = {"weak": f"W/{etag}", "star": "*", "weak-in-a-list": f'W/"x", W/{etag}'}[form]
    response = get(base + "rss.xml", {"If-None-Match": header})
    assert response.status == 304
    assert response.header("ETag") == etag


def test_if_none_match_overrides_if_modified_since(served: tuple[Site, str]) -> None:
    _, base = served
    stamp = get(base + "rss.xml").header("Last-Modified")
    response = get(base + "rss.xml", {"If-None-Match": '"other"', "If-Modified-Since": stamp})
    assert response.status == 200


def test_serve_answers_200_to_a_stale_etag(served: tuple[Site, str]) -> None:
    _, base = served
    response = get(base + "rss.xml", {"If-None-Match": '"not-the-current-one"'})
    assert response.status == 200
    assert response.body


def test_serve_answers_304_to_if_modified_since(served: tuple[Site, str]) -> None:
    _, base = served
    stamp = get(base + "feed.json").header("Last-Modified")
    response = get(base + "feed.json", {"If-Modified-Since": stamp})
    assert response.status == 304
    assert response.body == b""


def test_serve_answers_200_to_an_older_if_modified_since(served: tuple[Site, str]) -> None:
    _, base = served
    response = get(base + "feed.json", {"If-Modified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
    assert response.status == 200


def test_serve_names_feed_types(served: tuple[Site, str]) -> None:
    _, base = served
    assert get(base + "atom.xml").header("Content-Type").startswith("application/xml")
    assert get(base + "rss.xml").header("Content-Type").startswith("application/xml")
    assert get(base + "feed.json").header("Content-Type").startswith("application/feed+json")
    assert get(base + "feed.xsl").header("Content-Type").startswith("text/xsl")


def test_rebuild_without_changes_leaves_feed_bytes_and_mtimes(tmp_path: Path) -> None:
    site = seeded(tmp_path)
    build(site)
    feeds = [site.out / name for name in ("rss.xml", "atom.xml", "feed.json", "tags/kyiv/rss.xml")]
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in feeds]
    build(site, now="2026-03-05")
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in feeds] == before


def test_etag_survives_a_rebuild_and_changes_with_content(tmp_path: Path) -> None:
    site = seeded(tmp_path)
    build(site)
    with feeds_serve(site) as base:
        etag = get(base + "atom.xml").header("ETag")
        build(site, now="2026-03-05")
        assert get(base + "atom.xml", {"If-None-Match": etag}).status == 304
        site.seed("c.txt", "date 2026-02-12\ntitle Нова\n\nТекст.\n")
        build(site, now="2026-03-05")
        response = get(base + "atom.xml", {"If-None-Match": etag})
    assert response.status == 200
    assert "Нова" in response.body.decode()
    assert response.header("ETag") != etag


def test_changed_feed_of_the_same_size_gets_a_new_etag(tmp_path: Path) -> None:
    site = seeded(tmp_path)
    build(site)
    feed = site.out / "atom.xml"
    with feeds_serve(site) as base:
        etag = get(base + "atom.xml").header("ETag")
        data = feed.read_bytes().replace("Метро".encode(), "Метра".encode())
        stat = feed.stat()
        feed.write_bytes(data)
        os.utime(feed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
        response = get(base + "atom.xml", {"If-None-Match": etag})
    assert response.status == 200
    assert response.body == data
