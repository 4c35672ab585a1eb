"""Articles of one day without a time (all at 00:00) are listed in the order they were
first published, later ones first; then by stem (issue 14.7). Their dates stay as written."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Site

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

DAY = "date 2026-02-20\n\n{}\n"


def _order(site: Site) -> list[str]:
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    return [item["id"].rpartition(":")[2] for item in feed["items"]]


def test_same_day_articles_are_listed_latest_published_first(site: Site) -> None:
    site.seed("b.txt", DAY.format("Перша новина дня."))
    assert site.main("build", "--now", "2026-02-20T10:00") == 0
    site.seed("a.txt", DAY.format("Друга новина дня."))
    assert site.main("build", "--now", "2026-02-20T12:00") == 0
    assert _order(site) == ["a", "b"]
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    assert {item["date_published"] for item in feed["items"]} == {"2026-02-20T00:00:00+02:00"}
    index = (site.out / "index.html").read_text(encoding="utf-8")
    assert index.index("Друга новина дня") < index.index("Перша новина дня")


def test_same_day_articles_published_together_are_ordered_by_stem(site: Site) -> None:
    for stem in ("c", "a", "b"):
        site.seed(f"{stem}.txt", DAY.format(f"Новина {stem} дня."))
    assert site.main("build", "--now", "2026-02-20T10:00") == 0
    assert _order(site) == ["c", "b", "a"]


def test_a_rebuild_from_scratch_keeps_the_order(site: Site) -> None:
    site.seed("b.txt", DAY.format("Перша новина дня."))
    assert site.main("build", "--now", "2026-02-20T10:00") == 0
    site.seed("a.txt", DAY.format("Друга новина дня."))
    assert site.main("build", "--now", "2026-02-20T12:00") == 0
    before = (site.out / "feed.json").read_bytes()
    (site.out / "feed.json").unlink()
    assert site.main("build", "--now", "2026-02-20T12:00") == 0
    assert (site.out / "feed.json").read_bytes() == before
