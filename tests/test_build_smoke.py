"""The repository's example seed publishes into parseable feeds."""

from __future__ import annotations

import shutil

import feedparser

from tests.conftest import SHARED_SEED, Site


def test_example_seed_publishes_rss_with_derived_title(site: Site) -> None:
    shutil.copy(SHARED_SEED, site.seeds / SHARED_SEED.name)
    assert site.main("build", "--now", "2026-03-01T12:00") == 0
    parsed = feedparser.parse((site.out / "rss.xml").read_bytes())
    assert parsed.bozo == 0
    assert [e.title for e in parsed.entries] == [
        "Україна пропонує Японії започаткувати оборонне партнерство"
    ]
