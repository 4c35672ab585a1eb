"""A damaged or lost state database, a full disk, a lock in the way: one line, never a fresh
start that silently drops every subscriber and the delivery history."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.store.schema import DB_NAME
from tests.conftest import SITE_TOML, Site
from tests.digest_site import subscribe

REFUSAL = "restore it from the backup, or remove the folder to start afresh"


def used_site(site: Site) -> Site:
    """A site that has built and has a subscriber."""
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    subscribe(site, "olena@example.org")
    return site


def empty_the_database(state: Path) -> None:
    (state / DB_NAME).write_bytes(b"")
    for extra in ("-wal", "-shm"):
        (state / (DB_NAME + extra)).unlink(missing_ok=True)


def schemaless_database(state: Path) -> None:
    empty_the_database(state)
    sqlite3.connect(state / DB_NAME).close()


@pytest.mark.parametrize(
    "damage", [empty_the_database, schemaless_database], ids=["empty", "no-schema"]
)
@pytest.mark.parametrize(
    "command", [["build"], ["subscribers", "list"], ["run"]], ids=lambda c: c[0]
)
def test_an_emptied_database_in_a_used_state_folder_is_refused(
    site: Site, damage: object, command: list[str]
) -> None:
    used_site(site)
    assert callable(damage)
    damage(site.state)
    done = site.run(*command, "--now", "2026-03-01")
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and REFUSAL in lines[0], lines
    assert (site.state / DB_NAME).stat().st_size == 0 or damage is schemaless_database


def test_a_missing_database_next_to_a_build_snapshot_is_refused(site: Site) -> None:
    used_site(site)
    assert list(site.state.glob("snapshot-*.bin"))
    (site.state / DB_NAME).unlink()
    done = site.run("subscribers", "list")
    assert done.returncode == 1
    assert REFUSAL in done.stderr and len(done.stderr.splitlines()) == 1


def test_a_new_state_folder_still_starts_fresh(site: Site) -> None:
    assert site.main("subscribers", "add", "olena@example.org") == 0
    assert site.main("build", "--now", "2026-03-01") == 0


def test_a_lock_path_that_is_a_folder_is_one_line(site: Site) -> None:
    (site.state / "lock").mkdir(parents=True)
    done = site.run("build", "--now", "2026-03-01")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines == [f"feeds: {site.state / 'lock'} is a folder where a file belongs; move it away"]


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs (needs root and mount); skipped, saying why, where mounting fails."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small filesystem to fill")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): no real full disk")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def big_site(root: Path, out: Path, state: Path) -> Site:
    toml = SITE_TOML.replace('out = "public"', f'out = "{out}"').replace(
        'state = "state"', f'state = "{state}"'
    )
    site = Site(root, toml)
    for n in range(1, 41):
        body = "Довгий текст статті. " * 400
        site.seed(f"a{n:02d}.txt", f"date 2026-02-{n % 28 + 1:02d}\ntitle Стаття {n}\n\n{body}\n")
    return site


def test_a_full_publish_disk_is_named_in_one_line(tmp_path: Path, tiny_disk: Path) -> None:
    site = big_site(tmp_path / "site", tiny_disk / "public", tmp_path / "state")
    done = site.run("build", "--now", "2026-03-01")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"feeds: no space left on device writing {tiny_disk / 'public'}"
    ]


def test_a_full_state_disk_is_named_in_one_line(tmp_path: Path, tiny_disk: Path) -> None:
    site = big_site(tmp_path / "site", tmp_path / "public", tiny_disk / "state")
    done = site.run("build", "--now", "2026-03-01")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("feeds: no space left on device writing "), lines
    assert str(tiny_disk) in lines[0]
