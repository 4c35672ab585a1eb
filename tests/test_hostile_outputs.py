"""Faults of the publish folder: not writable, a file in the way, the disk full mid-build.

Each gives one clear line and exit 1; every file already published keeps its old bytes,
no temp file is left, the state database stays whole, and the next build recovers.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Site, clean_build, integrity, tree
from tests.test_hostile_seeds import permission_bits_hold, run_unprivileged

NOW = "2026-03-01T12:00"
FILE_LIMIT = 300_000  # bytes: above the state database, below the big article's page


def temp_files(root: Path) -> list[str]:
    """Staged files left behind."""
    return [p.name for p in root.rglob(".feeds-*.tmp")]


@pytest.fixture
def published(site: Site) -> Site:
    """A site built once, with one more seed waiting to be published."""
    for number in range(3):
        site.seed(f"00{number}.txt", f"date 2026-02-2{number}\n\nСтаття {number} про щось.\n")
    assert site.run("build", "--now", NOW).returncode == 0
    site.seed("010.txt", "date 2026-02-25\n\nВелика стаття " + "<" * 60_000 + "\n")
    return site


def limit_file_size() -> None:
    """In a child before exec: writes past FILE_LIMIT fail with EFBIG, as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


def run_with(site: Site, preexec: Callable[[], None]) -> subprocess.CompletedProcess[str]:
    """feeds build as a subprocess with a fault set up before it starts."""
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    return subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "build", "--now", NOW],
        cwd=site.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=preexec,
    )


def test_disk_full_mid_build_is_one_line_and_old_outputs_stay(
    published: Site, tmp_path: Path
) -> None:
    before = tree(published.out)
    result = run_with(published, limit_file_size)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.endswith("cannot write: File too large"), line
    assert "Traceback" not in result.stderr
    assert tree(published.out) == before
    assert temp_files(published.out) == []
    assert integrity(published.state) == "ok"


def test_the_build_after_a_full_disk_publishes_everything(published: Site, tmp_path: Path) -> None:
    run_with(published, limit_file_size)
    result = published.run("build", "--now", NOW)
    assert (result.returncode, result.stderr) == (0, "")
    assert tree(published.out) == clean_build(tmp_path, published.seeds, NOW)


def test_publish_folder_not_writable_is_one_line_and_old_outputs_stay(
    published: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not permission_bits_hold(str(tmp_path_factory.mktemp("probe"))):
        pytest.skip("cannot drop root's permission override here; not-writable untestable")
    before = tree(published.out)
    folders = [published.out, *(p for p in published.out.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = run_unprivileged(published, "build", "--now", NOW)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("feeds: ") and line.endswith("cannot write: Permission denied"), line
    assert tree(published.out) == before
    assert integrity(published.state) == "ok"


def test_the_build_after_the_folder_is_writable_again_publishes_everything(
    published: Site, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not permission_bits_hold(str(tmp_path_factory.mktemp("probe"))):
        pytest.skip("cannot drop root's permission override here; not-writable untestable")
    published.out.chmod(0o555)
    try:
        assert run_unprivileged(published, "build", "--now", NOW).returncode == 1
    finally:
        published.out.chmod(0o755)
    result = run_unprivileged(published, "build", "--now", NOW)
    assert (result.returncode, result.stderr) == (0, "")
    assert tree(published.out) == clean_build(tmp_path, published.seeds, NOW)


@pytest.mark.parametrize("blocked", ["", "articles", "tags"], ids=["out", "articles", "tags"])
def test_a_file_in_the_way_of_a_folder_is_one_line_and_the_next_build_recovers(
    site: Site, tmp_path: Path, blocked: str
) -> None:
    site.seed("001.txt", "date 2026-02-20\ntags: Економіка\n\nСтаття про щось важливе.\n")
    in_the_way = site.out / blocked  # the publish folder itself when blocked is ""
    in_the_way.parent.mkdir(exist_ok=True)
    in_the_way.write_text("not a folder")
    result = site.run("build", "--now", NOW)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "is in the way of a folder" in line, line
    in_the_way.unlink()
    result = site.run("build", "--now", NOW)
    assert (result.returncode, result.stderr) == (0, "")
    assert tree(site.out) == clean_build(tmp_path, site.seeds, NOW)


def test_a_failing_state_database_write_is_one_line_and_the_next_build_recovers(
    published: Site,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from feeds.store import manifest

    def disk_full(*args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patch:
        patch.setattr(manifest, "save_outputs", disk_full)
        assert published.main("build", "--now", NOW) == 1
    assert capsys.readouterr().err.splitlines() == [
        "feeds: state database error: database or disk is full"
    ]
    assert integrity(published.state) == "ok"
    assert published.main("build", "--now", NOW) == 0
    assert tree(published.out) == clean_build(tmp_path, published.seeds, NOW)
