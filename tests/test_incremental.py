"""Incremental builds give byte-for-byte the output of a cold build, whatever changed."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.config import Config
from feeds.publish.build import build
from feeds.read.dates import parse_now
from feeds.store.schema import DB_NAME, connect
from tests.conftest import Site, clean_build, seed_articles, tree

TOML = """
[site]
title = "Incremental"
base_url = "https://news.example.org/"
language = "uk"
timezone = "Europe/Kyiv"
id_year = 2026

[paths]
seeds = "seeds"
out = "public"
state = "state"

[feed]
max_items = 4
page_size = 3
"""

WORDS = [
    "Київ",
    "Львів",
    "дрони",
    "енергетика",
    "школа",
    "порт",
    "метро",
    "вибори",
    "зима",
    "весна",
    "уряд",
    "ринок",
]
TAGS = ["Київ", "Економіка", "Культура", "Освіта"]


def _cold_build(config: Config, now: datetime, scratch: Path) -> dict[str, bytes]:
    """Build into a fresh folder from a copy of the permanent state (slugs, first publication)."""
    state = scratch / "state"
    state.mkdir(parents=True)
    source = sqlite3.connect(config.paths.state / DB_NAME)
    target = sqlite3.connect(state / DB_NAME)
    source.backup(target)
    source.close()
    target.execute("DELETE FROM seeds")
    target.execute("DELETE FROM outputs")
    target.execute("DELETE FROM meta")
    target.commit()
    target.close()
    cold = config.replace_paths(out=scratch / "public", state=state)
    conn = connect(cold.paths.state)
    try:
        build(cold, now, conn)
    finally:
        conn.close()
    return tree(cold.paths.out)


def _seed_text(rng: random.Random, day: int, hour: int) -> str:
    words = rng.sample(WORDS, 6)
    tags = ", ".join(rng.sample(TAGS, rng.randint(0, 2)))
    title = " ".join(words[:3]).capitalize()
    body = " ".join(words) + "."
    return f"title: {title}\ndate: 2026-02-{day:02d} {hour:02d}:00\ntags: {tags}\n\n{body}\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_build_equals_cold_build_after_random_changes(
    make_site: object, tmp_path: Path, seed: int
) -> None:
    site: Site = make_site(TOML)  # type: ignore[operator]
    rng = random.Random(seed)
    config = site.config()
    now = parse_now("2026-02-20T12:00", config.site.tz)
    names: list[str] = []
    for step in range(14):
        action = rng.choice(["add", "add", "edit", "delete"]) if names else "add"
        if action == "add":
            name = f"{step:03d}_{rng.randrange(16**6):06x}.txt"
            names.append(name)
            site.seed(name, _seed_text(rng, rng.randint(1, 27), rng.randint(0, 23)))
        elif action == "edit":
            site.seed(rng.choice(names), _seed_text(rng, rng.randint(1, 27), rng.randint(0, 23)))
        else:
            victim = names.pop(rng.randrange(len(names)))
            (site.seeds / victim).unlink()
        now += timedelta(hours=rng.choice([0, 6, 30]))
        conn = connect(config.paths.state)
        try:
            build(config, now, conn)
        finally:
            conn.close()
        incremental = tree(site.out)
        cold = _cold_build(config, now, tmp_path / f"cold-{step}")
        assert incremental.keys() == cold.keys(), f"step {step} ({action}): different files"
        changed = [path for path in cold if cold[path] != incremental[path]]
        assert changed == [], f"step {step} ({action}): files differ"


def test_no_change_build_writes_nothing(site: Site) -> None:
    site.seed("a.txt", "title: Перша\ndate: 2026-02-10\n\nТекст.\n")
    site.seed("b.txt", "title: Друга\ndate: 2026-02-11\n\nТекст.\n")
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        before = {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()}
        result = build(config, now, conn)
    finally:
        conn.close()
    assert result.written == ()
    assert {p: p.stat().st_mtime_ns for p in site.out.rglob("*") if p.is_file()} == before


def test_adding_one_article_rewrites_only_what_shows_it(site: Site) -> None:
    seed_articles(site, 8)
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        site.seed("09.txt", "title: Нова стаття\ndate: 2026-02-01\n\nТекст.\n")
        result = build(config, now, conn)
    finally:
        conn.close()
    written = set(result.written)
    assert "articles/nova-stattia.html" in written
    assert "articles/stattia-8.html" in written  # its neighbour gains a "newer" link
    assert not any(path.startswith("articles/stattia-1") for path in written)
    assert "archive/2026-01.html" not in written


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _wide_seed_text(rng: random.Random) -> str:
    """A seed that may be a draft, due in the future, tagged, or show an image."""
    words = rng.sample(WORDS, 6)
    lines = [
        f"title: {' '.join(words[:3]).capitalize()}",
        f"date: 2026-02-{rng.randint(1, 27):02d} {rng.randint(0, 23):02d}:00",
        f"tags: {', '.join(rng.sample(TAGS, rng.randint(0, 2)))}",
    ]
    if rng.random() < 0.15:
        lines.append("draft: true")
    if rng.random() < 0.3:
        lines.append(f"image: {rng.choice(['a.png', 'b.png', 'https://cdn.example.org/x.jpg'])}")
    return "\n".join(lines) + f"\n\n{' '.join(words)}.\n"


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_incremental_plans_equal_cold_builds_across_sections_images_and_clock(
    make_site: object, tmp_path: Path, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Adds, edits, deletes, moves between sections, drafts, held-back articles falling
    due, image files changing, and an output deleted by hand: after every step the
    incremental build equals a cold build, and most steps were planned incrementally."""
    site: Site = make_site(TOML)  # type: ignore[operator]
    rng = random.Random(seed)
    config = site.config()
    for folder in ("", "sport/", "kultura/"):
        (site.seeds / folder).mkdir(parents=True, exist_ok=True)
        (site.seeds / f"{folder}a.png").write_bytes(PNG)
        (site.seeds / f"{folder}b.png").write_bytes(PNG * 2)
    now = parse_now("2026-02-12T12:00", config.site.tz)
    names: list[str] = []
    incremental_steps = 0
    for step in range(24):
        actions = ["add", "add", "edit", "delete", "move", "image", "unlink-output", "touch"]
        action = rng.choice(actions) if names else "add"
        if action == "add":
            folder = rng.choice(["", "", "sport/", "kultura/"])
            names.append(f"{folder}{step:03d}_{rng.randrange(16**6):06x}.txt")
            site.seed(names[-1], _wide_seed_text(rng))
        elif action == "edit":
            site.seed(rng.choice(names), _wide_seed_text(rng))
        elif action == "delete":
            (site.seeds / names.pop(rng.randrange(len(names)))).unlink()
        elif action == "move":
            index = rng.randrange(len(names))
            stem = names[index].rpartition("/")[2]
            target = rng.choice(["", "sport/", "kultura/"]) + stem
            if target not in names:
                (site.seeds / names[index]).rename(site.seeds / target)
                names[index] = target
        elif action == "image":
            folder = rng.choice(["", "sport/", "kultura/"])
            (site.seeds / f"{folder}a.png").write_bytes(PNG * rng.randint(1, 4))
        elif action == "unlink-output":
            pages = sorted(site.out.glob("articles/*.html"))
            if pages:
                rng.choice(pages).unlink()
        else:
            target = site.seeds / rng.choice(names)
            target.write_bytes(target.read_bytes())  # new stat, same bytes
        now += timedelta(hours=rng.choice([0, 6, 30, 72]))
        caplog.clear()
        with caplog.at_level("DEBUG", logger="feeds.publish.build"):
            conn = connect(config.paths.state)
            try:
                build(config, now, conn)
            finally:
                conn.close()
        incremental_steps += any("incremental plan" in r.message for r in caplog.records)
        incremental = tree(site.out)
        cold = _cold_build(config, now, tmp_path / f"cold-{step}")
        assert incremental.keys() == cold.keys(), f"step {step} ({action}): different files"
        changed = [path for path in cold if cold[path] != incremental[path]]
        assert changed == [], f"step {step} ({action}): files differ"
        cold_folders = folders(tmp_path / f"cold-{step}" / "public")
        assert folders(site.out) == cold_folders, f"step {step} ({action}): different folders"
    assert incremental_steps >= 12


def test_outputs_deleted_by_hand_come_back_once_the_folder_times_are_settled(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build trusts unchanged folder times instead of listing the publish folder;
    a file deleted later changes its folder's time, so it is written again."""
    import json
    import time

    import feeds.publish.build
    from feeds.publish.folder import Publisher
    from feeds.store.manifest import get_meta

    # Three seconds on: every folder time is past the two-second guard.
    monkeypatch.setattr(feeds.publish.build, "_wall_clock", lambda: time.time() + 3)
    seed_articles(site, 5)
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        last = json.loads(get_meta(conn, "last_build") or "{}")
        assert Publisher(config.paths.out).untouched_since(last["folders"], time.time() + 3)
        page = site.out / "articles" / "stattia-3.html"
        before = page.read_bytes()
        page.unlink()
        (site.out / "rss.xml").unlink()
        assert build(config, now, conn).written == ("articles/stattia-3.html", "rss.xml")
        assert page.read_bytes() == before
        (site.out / "articles" / "stattia-4.html").unlink()
        site.seed("06.txt", "title: Нова\ndate: 2026-01-06\n\nТекст.\n")
        written = build(config, now, conn).written
    finally:
        conn.close()
    assert {"articles/stattia-4.html", "articles/nova.html"} <= set(written)


def test_recently_changed_folders_are_listed_not_trusted(site: Site) -> None:
    """Within two seconds of a folder's change its time proves nothing (coarse clocks)."""
    import json
    import time

    from feeds.publish.folder import Publisher
    from feeds.store.manifest import get_meta

    seed_articles(site, 2)
    config = site.config()
    conn = connect(config.paths.state)
    try:
        build(config, parse_now("2026-03-01", config.site.tz), conn)
        last = json.loads(get_meta(conn, "last_build") or "{}")
    finally:
        conn.close()
    publisher = Publisher(config.paths.out)
    assert not publisher.untouched_since(last["folders"], time.time())
    assert publisher.untouched_since(last["folders"], time.time() + 3)
    (site.out / "articles" / "stattia-1.html").unlink()
    assert not publisher.untouched_since(last["folders"], time.time() + 3)


def test_a_build_killed_after_its_renames_then_reverted_is_repaired(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The killed build published an edit; the edit is undone before the next build. Its
    render keys equal the recorded ones again, so only keys forgotten before the renames
    make the next build write the old text back."""
    from feeds.publish.folder import Publisher

    seed_articles(site, 5, "Текст {day}.")
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        original = (site.seeds / "03.txt").read_bytes()
        site.seed("03.txt", "title: Стаття 3\ndate: 2026-01-03\n\nВиправлений текст.\n")
        real_commit = Publisher.commit

        def commit_then_die(self: Publisher) -> None:
            real_commit(self)
            raise KeyboardInterrupt  # killed right after the renames

        monkeypatch.setattr(Publisher, "commit", commit_then_die)
        with pytest.raises(KeyboardInterrupt):
            build(config, now, conn)
        monkeypatch.setattr(Publisher, "commit", real_commit)
        assert "Виправлений" in (site.out / "articles" / "stattia-3.html").read_text("utf-8")
        (site.seeds / "03.txt").write_bytes(original)
        build(config, now, conn)
    finally:
        conn.close()
    assert tree(site.out) == clean_build(tmp_path, site.seeds, "2026-03-01")


def test_adding_one_article_to_three_hundred_plans_only_what_it_touches(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Cost grows with the change: the new article's page and its neighbour's, its month,
    its tag; not the other 299 pages (SPEC 6)."""
    for number in range(300):
        day, hour = divmod(number, 12)
        site.seed(
            f"{number:03d}.txt",
            f"title: Стаття {number}\ndate: 2025-{1 + day // 28:02d}-{1 + day % 28:02d}"
            f" {8 + hour:02d}:00\n\nТекст.\n",
        )
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        site.seed("new.txt", "title: Нова\ndate: 2026-02-01\ntags: Київ\n\nТекст.\n")
        with caplog.at_level("DEBUG", logger="feeds.publish.build"):
            result = build(config, now, conn)
    finally:
        conn.close()
    plans = [r.message for r in caplog.records if r.message.startswith("incremental plan")]
    assert plans == ["incremental plan: 2 article pages, 1 months, 1 groups"]
    assert "articles/nova.html" in result.written


def folders(root: Path) -> set[str]:
    """Every folder below root, by relative path."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()}


def test_an_incremental_build_leaves_no_folder_it_vacated_and_keeps_the_users_files(
    site: Site, tmp_path: Path
) -> None:
    """A removed image's media/<id>/ and a section left empty by a move go with their
    files; files this tool never wrote (a CNAME, .well-known/, a note in media/) stay, and
    so do the folders that hold them."""
    site.seed("a.png", PNG)
    site.seed("a.txt", "title: Фото\ndate: 2026-02-10\nimage: a.png\n\nТекст.\n")
    site.seed("sport/b.txt", "title: Матч\ndate: 2026-02-11\n\nТекст.\n")
    site.seed("kultura/c.txt", "title: Театр\ndate: 2026-02-12\n\nТекст.\n")
    config = site.config()
    now = parse_now("2026-03-01", config.site.tz)
    conn = connect(config.paths.state)
    try:
        build(config, now, conn)
        assert {"media/a", "sections/sport"} <= folders(site.out)
        users = {"CNAME": b"news.example.org\n", ".well-known/security.txt": b"Contact: x\n"}
        users["sections/kultura/notes.txt"] = b"not ours\n"
        for rel, data in users.items():
            (site.out / rel).parent.mkdir(parents=True, exist_ok=True)
            (site.out / rel).write_bytes(data)
        (site.seeds / "a.png").unlink()
        (site.seeds / "sport/b.txt").rename(site.seeds / "kultura/b.txt")
        build(config, now, conn)
        (site.seeds / "kultura/c.txt").unlink()
        (site.seeds / "kultura/b.txt").rename(site.seeds / "b.txt")
        build(config, now, conn)
    finally:
        conn.close()
    published = tree(site.out)
    assert {rel: published.pop(rel) for rel in users} == users
    cold_root = tmp_path / "reference"
    assert published == clean_build(tmp_path, site.seeds, "2026-03-01")
    assert folders(site.out) == folders(cold_root / "public") | {
        ".well-known",
        "sections",
        "sections/kultura",
    }
