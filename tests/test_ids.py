"""Feed ids: tag: URIs from file stems, valid IRIs whatever the file is called."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import feedparser

from feeds.store.schema import DB_NAME
from tests.conftest import SITE_TOML, Site


def test_stem_with_spaces_and_quotes_gives_a_percent_encoded_tag_id(site: Site) -> None:
    site.seed('новина "дня" <1>.txt', "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    parsed = feedparser.parse((site.out / "atom.xml").read_bytes())
    assert parsed.bozo == 0
    assert [e.id for e in parsed.entries] == [
        "tag:news.example.org,2026:новина%20%22дня%22%20%3C1%3E"
    ]


def test_plain_stem_is_the_tag_id_unchanged(site: Site) -> None:
    site.seed("000_91005bd04970e0af.txt", "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    parsed = feedparser.parse((site.out / "rss.xml").read_bytes())
    assert [e.id for e in parsed.entries] == ["tag:news.example.org,2026:000_91005bd04970e0af"]


def _ids(site: Site) -> list[str]:
    parsed = feedparser.parse((site.out / "atom.xml").read_bytes())
    return [parsed.feed.id, *(e.id for e in parsed.entries)]


def _under(tmp_path: Path, folder: str) -> Site:
    root = tmp_path / folder
    root.mkdir()
    toml = SITE_TOML.replace(
        'base_url = "https://news.example.org/"', f'base_url = "https://example.org/{folder}/"'
    )
    return Site(root, toml)


def test_two_sites_on_one_host_publish_different_ids(tmp_path: Path) -> None:
    news, blog = _under(tmp_path, "news"), _under(tmp_path, "blog")
    for site in (news, blog):
        site.seed("same.txt", "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
        assert site.main("build", "--now", "2026-03-01") == 0
    assert _ids(news) == ["tag:example.org,2026:news/feed", "tag:example.org,2026:news/same"]
    assert _ids(blog) == ["tag:example.org,2026:blog/feed", "tag:example.org,2026:blog/same"]


def test_a_site_that_published_before_keeps_host_only_ids(tmp_path: Path) -> None:
    news = _under(tmp_path, "news")
    news.seed("old.txt", "title: Стара\ndate: 2026-02-10\n\nТекст.\n")
    assert news.main("build", "--now", "2026-03-01") == 0
    # As a state written before the form was recorded: published, no id_form.
    conn = sqlite3.connect(news.state / DB_NAME)
    conn.execute("DELETE FROM meta WHERE key = 'id_form'")
    conn.commit()
    conn.close()
    news.seed("new.txt", "title: Нова\ndate: 2026-02-11\n\nТекст.\n")
    assert news.main("build", "--now", "2026-03-01") == 0
    assert _ids(news) == [
        "tag:example.org,2026:feed",
        "tag:example.org,2026:new",
        "tag:example.org,2026:old",
    ]
    news.seed("newer.txt", "title: Новіша\ndate: 2026-02-12\n\nТекст.\n")
    assert news.main("build", "--now", "2026-03-01") == 0
    assert _ids(news)[1] == "tag:example.org,2026:newer"  # recorded: it stays


def test_root_site_ids_are_unchanged(site: Site) -> None:
    site.seed("a.txt", "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    assert _ids(site) == ["tag:news.example.org,2026:feed", "tag:news.example.org,2026:a"]
