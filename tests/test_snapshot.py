"""The snapshot of the last build: a cache that is either exactly right or ignored."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from feeds.model import Article, SeedRow
from feeds.publish.build import build
from feeds.read.corpus import meta_of
from feeds.read.dates import parse_now
from feeds.store import snapshot
from feeds.store.manifest import get_meta
from feeds.store.schema import connect
from tests.conftest import Site, clean_build, seed_articles, tree


def sample() -> snapshot.Snapshot:
    article = Article(
        "001", "news/001.txt", datetime(2026, 2, 3, 4, 5, tzinfo=UTC), "Т", "", (), tags=("А",)
    )
    meta = meta_of(article, "ab" * 32, UTC)
    rows = {
        "news/001.txt": SeedRow("news/001.txt", 10, 11, 12, "ab" * 32, meta, None),
        "bad.txt": SeedRow("bad.txt", 0, 1, 2, "", None, "empty file"),
    }
    return snapshot.Snapshot("render", rows, {"001": "t"}, {"001": 1}, ["001"], {})


def test_a_snapshot_reads_back_as_written(tmp_path: Path) -> None:
    token = snapshot.new_token(None)
    snapshot.save(tmp_path, token, sample())
    assert snapshot.load(tmp_path, token) == sample()


def test_the_two_slots_take_turns(tmp_path: Path) -> None:
    first = snapshot.new_token(None)
    second = snapshot.new_token(first)
    third = snapshot.new_token(second)
    assert (first[:2], second[:2], third[:2]) == ("0:", "1:", "0:")
    snapshot.save(tmp_path, first, sample())
    snapshot.save(tmp_path, second, sample())
    assert snapshot.load(tmp_path, first) == sample()  # the other slot was left alone
    assert snapshot.load(tmp_path, second) == sample()


def test_a_torn_flipped_or_foreign_snapshot_is_ignored(tmp_path: Path) -> None:
    token = snapshot.new_token(None)
    snapshot.save(tmp_path, token, sample())
    path = next(tmp_path.glob("snapshot-*.bin"))
    data = path.read_bytes()
    assert snapshot.load(tmp_path, snapshot.new_token(None)) is None  # another build's
    assert snapshot.load(tmp_path, None) is None
    path.write_bytes(data[: len(data) // 2])
    assert snapshot.load(tmp_path, token) is None
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert snapshot.load(tmp_path, token) is None
    path.unlink()
    assert snapshot.load(tmp_path, token) is None


def test_a_build_whose_snapshot_is_damaged_reads_the_database_and_is_right(
    site: Site, tmp_path: Path
) -> None:
    seed_articles(site, 7)
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        for path in config.paths.state.glob("snapshot-*.bin"):
            path.write_bytes(b"\x00" * 64)
        site.seed("08.txt", "title: Нова\ndate: 2026-01-08\n\nТекст.\n")
        (site.seeds / "02.txt").unlink()
        result = build(config, now, conn)
        token = get_meta(conn, "snapshot_token")
    finally:
        conn.close()
    assert "articles/nova.html" in result.written
    assert tree(site.out) == clean_build(tmp_path, site.seeds, "2026-03-01")
    assert snapshot.load(config.paths.state, token) is not None  # written afresh
