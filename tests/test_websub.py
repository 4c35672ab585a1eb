"""WebSub: feeds name the hub, and a build that changed feeds pings it (never failing)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import feedparser
import pytest

from feeds.publish.websub import ping_hub
from tests.conftest import Site
from tests.support_web import BASE, build, free_port, make_site, raw_server, running_hub

SITE_FEEDS = [BASE + "rss.xml", BASE + "atom.xml", BASE + "feed.json"]
KYIV_FEEDS = [BASE + "tags/kyiv/rss.xml", BASE + "tags/kyiv/atom.xml", BASE + "tags/kyiv/feed.json"]


def hub_site(root: Path, hub: str) -> Site:
    site = make_site(root, f'\n[feed]\nwebsub_hub = "{hub}"\n')
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\ntags: Київ\n\nТекст.\n")
    site.seed("b.txt", "date 2026-02-11\ntitle Ярмарок\ntags: Львів\n\nКниги.\n")
    return site


def test_feeds_carry_a_hub_link(tmp_path: Path) -> None:
    site = hub_site(tmp_path, "https://hub.example.net/")
    build(site)
    for feed in ("rss.xml", "atom.xml", "tags/kyiv/rss.xml", "archive/feed-1.xml"):
        if not (site.out / feed).exists():
            continue
        links = feedparser.parse(str(site.out / feed)).feed.links
        assert {"rel": "hub", "href": "https://hub.example.net/"} in [
            {"rel": link.rel, "href": link.href} for link in links
        ], feed
    document = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    assert document["hubs"] == [{"type": "WebSub", "url": "https://hub.example.net/"}]


def test_feeds_without_a_hub_carry_no_hub_link(site: Site) -> None:
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\n\nТекст.\n")
    build(site)
    assert 'rel="hub"' not in (site.out / "atom.xml").read_text(encoding="utf-8")
    assert "hubs" not in json.loads((site.out / "feed.json").read_text(encoding="utf-8"))


def test_first_build_pings_publish_for_every_subscription_feed(tmp_path: Path) -> None:
    with running_hub() as hub:
        build(hub_site(tmp_path, hub.url))
    assert all(post["hub.mode"] == ["publish"] for post in hub.posts)
    assert sorted(hub.topics()) == sorted(
        SITE_FEEDS + KYIV_FEEDS + [u.replace("kyiv", "lviv") for u in KYIV_FEEDS]
    )


def test_build_that_changes_nothing_pings_nothing(tmp_path: Path) -> None:
    with running_hub() as hub:
        site = hub_site(tmp_path, hub.url)
        build(site)
        first = len(hub.posts)
        build(site, now="2026-03-02")
    assert first > 0
    assert len(hub.posts) == first


def test_new_article_pings_only_the_feeds_it_changed(tmp_path: Path) -> None:
    with running_hub() as hub:
        site = hub_site(tmp_path, hub.url)
        build(site)
        hub.posts.clear()
        site.seed("c.txt", "date 2026-02-12\ntitle Міст\ntags: Київ\n\nТекст.\n")
        build(site)
    assert sorted(hub.topics()) == sorted(SITE_FEEDS + KYIV_FEEDS)


def test_unreachable_hub_is_one_warning_line_and_exit_0(tmp_path: Path) -> None:
    site = hub_site(tmp_path, f"http://127.0.0.1:{free_port()}/hub")
    result = site.run("build", "--now", "2026-03-01")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "WebSub" in lines[0] and "not reached" in lines[0]
    assert (site.out / "atom.xml").is_file()


def test_hub_answering_an_error_status_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_hub(status=500) as hub:
        build(hub_site(tmp_path, hub.url))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "500" in lines[0]


def test_hub_answering_garbage_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with raw_server(b"this is not HTTP\r\n\r\n") as hub:
        build(hub_site(tmp_path, hub))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert "WebSub" in lines[0]


def test_silent_hub_is_given_up_after_the_timeout(tmp_path: Path) -> None:
    with raw_server(None) as hub:
        config = hub_site(tmp_path, hub).config()
        started = time.monotonic()
        warnings = ping_hub(config, ["rss.xml", "atom.xml", "feed.json"], timeout=0.5)
        elapsed = time.monotonic() - started
    assert len(warnings) == 1
    assert "not reached" in warnings[0]
    assert elapsed < 5  # one timeout, not one per feed
