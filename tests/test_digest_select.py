"""Which articles each digest holds (SPEC 4): slot boundaries, catch-up, late arrivals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Site
from tests.digest_site import article, build, digest_ids, digest_toml, state

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site whose digest goes nowhere (these tests never send)."""
    return Site(tmp_path, digest_toml(port=2525))


def digest(site: Site, now: str, *extra: str) -> int:
    return site.main("digest", "--now", now, *extra)


def weeks(site: Site) -> list[str]:
    conn = state(site)
    try:
        return [str(w) for (w,) in conn.execute("SELECT week FROM digests ORDER BY slot")]
    finally:
        conn.close()


def test_article_at_16_59_on_friday_is_in_that_weeks_digest(site: Site) -> None:
    article(site, "before", "2026-02-20T16:59")
    build(site, "2026-02-20T17:30")
    assert digest(site, "2026-02-20T17:30") == 0
    assert digest_ids(site, "2026-W08") == ["before"]


def test_article_at_17_01_on_friday_waits_for_next_weeks_digest(site: Site) -> None:
    article(site, "before", "2026-02-20T16:59")
    article(site, "after", "2026-02-20T17:01")
    build(site, "2026-02-20T17:30")
    digest(site, "2026-02-20T17:30")
    build(site, "2026-02-27T17:05")
    digest(site, "2026-02-27T17:05")
    assert (digest_ids(site, "2026-W08"), digest_ids(site, "2026-W09")) == (["before"], ["after"])


def test_article_at_exactly_17_00_belongs_to_the_closing_slot(site: Site) -> None:
    article(site, "edge", "2026-02-20T17:00")
    build(site, "2026-02-20T17:00")
    digest(site, "2026-02-20T17:00")
    assert digest_ids(site, "2026-W08") == ["edge"]


def test_slot_boundary_is_kyiv_time_for_an_offset_date(site: Site) -> None:
    # 15:01 UTC is 17:01 in Kyiv (UTC+2 in February): after the slot.
    article(site, "utc", "2026-02-20T15:01:00+00:00")
    build(site, "2026-02-20T18:00")
    digest(site, "2026-02-20T18:00")
    assert weeks(site) == []


def test_first_digest_covers_only_the_week_before_its_slot(site: Site) -> None:
    article(site, "old", "2026-02-13T16:59")
    article(site, "new", "2026-02-13T17:01")
    build(site, "2026-02-20T17:30")
    digest(site, "2026-02-20T17:30")
    assert digest_ids(site, "2026-W08") == ["new"]


def test_catch_up_after_two_missed_slots_is_one_digest_with_everything(site: Site) -> None:
    article(site, "w06", "2026-02-04T12:00")
    build(site, "2026-02-06T17:10")
    digest(site, "2026-02-06T17:10")
    for stem, when in (("w07", "2026-02-11T12:00"), ("w08", "2026-02-18T12:00")):
        article(site, stem, when)
    article(site, "w09", "2026-02-25T12:00")
    build(site, "2026-02-27T18:00")
    digest(site, "2026-02-27T18:00")  # the W07 and W08 slots passed with nobody running
    assert weeks(site) == ["2026-W06", "2026-W09"]
    assert digest_ids(site, "2026-W09") == ["w07", "w08", "w09"]


def test_late_backdated_article_lands_in_the_next_digest_only(site: Site) -> None:
    article(site, "ontime", "2026-02-18T12:00")
    build(site, "2026-02-20T17:10")
    digest(site, "2026-02-20T17:10")
    article(site, "late", "2026-02-19T09:00")  # dated inside W08, file appears on Saturday
    build(site, "2026-02-21T10:00")
    digest(site, "2026-02-21T10:00")
    build(site, "2026-02-27T17:10")
    digest(site, "2026-02-27T17:10")
    assert digest_ids(site, "2026-W08") == ["ontime"]
    assert digest_ids(site, "2026-W09") == ["late"]


def test_article_published_between_slot_and_digest_is_in_it(site: Site) -> None:
    article(site, "a", "2026-02-20T16:00")
    build(site, "2026-02-20T17:20")  # first seen after the slot, before the digest is made
    digest(site, "2026-02-20T17:30")
    assert digest_ids(site, "2026-W08") == ["a"]


def test_no_new_articles_means_no_digest_and_no_files(site: Site) -> None:
    article(site, "old", "2026-01-05T12:00")
    build(site, "2026-02-20T17:30")
    assert digest(site, "2026-02-20T17:30") == 0
    assert weeks(site) == []
    assert not (site.out / "digests").exists()


def test_a_digest_is_created_once_and_kept_as_recorded(site: Site) -> None:
    article(site, "a", "2026-02-18T12:00")
    build(site, "2026-02-20T17:10")
    digest(site, "2026-02-20T17:10")
    article(site, "b", "2026-02-19T12:00")
    build(site, "2026-02-20T18:00")
    digest(site, "2026-02-20T18:00")
    assert digest_ids(site, "2026-W08") == ["a"]


def test_explicit_week_picks_that_slot(site: Site) -> None:
    article(site, "w07", "2026-02-12T12:00")
    article(site, "w08", "2026-02-19T12:00")
    build(site, "2026-02-21T12:00")
    assert digest(site, "2026-02-21T12:00", "--week", "2026-W07") == 0
    assert digest_ids(site, "2026-W07") == ["w07"]


def test_an_older_week_after_a_newer_digest_makes_nothing(site: Site) -> None:
    article(site, "w08", "2026-02-19T12:00")
    build(site, "2026-02-21T12:00")
    digest(site, "2026-02-21T12:00")
    assert digest(site, "2026-02-21T12:00", "--week", "2026-W07") == 0
    assert weeks(site) == ["2026-W08"]


def test_week_whose_slot_has_not_come_is_a_usage_error(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert digest(site, "2026-02-20T16:00", "--week", "2026-W08") == 2
    assert "has not come yet" in capsys.readouterr().err


def test_removed_seed_is_left_out_of_the_digest(site: Site) -> None:
    article(site, "kept", "2026-02-18T12:00")
    gone = article(site, "gone", "2026-02-18T13:00")
    build(site, "2026-02-19T12:00")
    gone.unlink()
    build(site, "2026-02-20T17:10")
    digest(site, "2026-02-20T17:10")
    assert digest_ids(site, "2026-W08") == ["kept"]
