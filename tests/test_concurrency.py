"""Several feeds processes at once, and seeds that change while a build reads them (SPEC 5).

The flock in the state folder serialises builds (and a watch daemon's builds); a killed
holder never leaves it stale; outputs and state stay what one build alone would give.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import lxml.html
import pytest

from feeds.errors import LockTimeout
from feeds.publish.build import build
from feeds.read.corpus import read_corpus
from feeds.read.seeds import scan
from feeds.store.lock import LOCK_NAME, LockBusy, locked
from feeds.store.schema import connect
from tests.conftest import Site, clean_build, integrity, tree

NOW = "2026-03-01T12:00"
DEADLINE = 120.0
OLD = 1_700_000_000


def fill(site: Site, count: int) -> None:
    """count valid seeds."""
    for number in range(count):
        site.seed(
            f"{number:04d}.txt",
            f"date 2026-02-{1 + number % 27:02d}\ntags: тема {number % 5}\n\n"
            f"Стаття {number} про події, що сталися цього дня.\n",
        )


def start(site: Site, *args: str) -> subprocess.Popen[str]:
    """The CLI as a background process."""
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), *args],
        cwd=site.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a background process: its status and stderr."""
    _, err = process.communicate(timeout=DEADLINE)
    return process.returncode, err


def until(condition: Callable[[], bool], what: str) -> None:
    """Poll condition() until it holds or the deadline passes."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {DEADLINE} s"
        time.sleep(0.02)


def has_open(pid: int, target: Path) -> bool:
    """Whether process pid holds an open file descriptor on target (Linux /proc)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(target):
                return True
        except FileNotFoundError:
            continue
    return False


@pytest.fixture
def holder(site: Site) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock until it is killed."""
    code = (
        "import sys; from pathlib import Path; from feeds.store.lock import locked\n"
        "with locked(Path(sys.argv[1]), 0):\n"
        "    print('held', flush=True); sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(site.state)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "held\n"
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=DEADLINE)


# The lock ------------------------------------------------------------------------------------


def test_two_builds_at_once_give_exactly_what_one_build_gives(site: Site, tmp_path: Path) -> None:
    fill(site, 300)
    expected = clean_build(tmp_path, site.seeds, NOW)
    first, second = start(site, "build", "--now", NOW), start(site, "build", "--now", NOW)
    assert finish(first) == (0, "")
    assert finish(second) == (0, "")
    assert tree(site.out) == expected
    assert integrity(site.state) == "ok"


def test_a_build_waits_for_the_lock_and_writes_nothing_meanwhile(site: Site) -> None:
    fill(site, 5)
    with locked(site.state, 0):
        process = start(site, "build", "--now", NOW)
        until(lambda: has_open(process.pid, site.state / LOCK_NAME), "attempt to take the lock")
        assert process.poll() is None
        assert not site.out.exists()
    assert finish(process) == (0, "")
    assert (site.out / "index.html").is_file()


def test_a_held_lock_refuses_at_once_when_asked_not_to_wait(
    site: Site, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(LockBusy), locked(site.state, 0):
        pass


def test_a_held_lock_times_out_with_a_message_naming_it(
    site: Site, holder: subprocess.Popen[str]
) -> None:
    with (
        pytest.raises(LockTimeout, match=r"another feeds process has held .*lock"),
        locked(site.state, 0.3),
    ):
        pass


def test_the_lock_of_a_killed_process_is_free_at_once(
    site: Site, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=DEADLINE)
    assert (site.state / LOCK_NAME).exists()  # the file stays; the flock went with the process
    with locked(site.state, 0):
        pass


def test_a_build_after_a_killed_lock_holder_succeeds(
    site: Site, holder: subprocess.Popen[str]
) -> None:
    fill(site, 3)
    holder.kill()
    holder.wait(timeout=DEADLINE)
    result = site.run("build", "--now", NOW)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_build_beside_a_running_watch_daemon_keeps_outputs_whole(
    site: Site, tmp_path: Path
) -> None:
    fill(site, 40)
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "watch"],
        cwd=site.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        until(lambda: (site.out / "feed.json").is_file(), "first build of the daemon")
        site.seed("0100.txt", "date 2026-02-25\n\nНова стаття, яку побачать обидва процеси.\n")
        result = site.run("build")
        assert (result.returncode, result.stderr) == (0, "")
    finally:
        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=DEADLINE)
    assert status == 0
    assert tree(site.out) == clean_build(tmp_path, site.seeds, NOW)
    assert integrity(site.state) == "ok"


# Seeds that change under a build -------------------------------------------------------------


def test_a_seed_deleted_after_the_scan_is_one_error_not_a_crash(site: Site) -> None:
    fill(site, 3)
    config = site.config()
    found = scan(config.paths.seeds, config.ignore_patterns)
    (site.seeds / "0001.txt").unlink()
    conn = connect(config.paths.state)
    try:
        corpus = read_corpus(config, conn, found)
    finally:
        conn.close()
    assert sorted(m.id for m in corpus.metas) == ["0000", "0002"]
    assert [(e.path, e.reason) for e in corpus.errors] == [
        ("0001.txt", "cannot read: No such file or directory")
    ]


def test_a_seed_rewritten_after_the_scan_is_read_again_by_the_next_build(site: Site) -> None:
    fill(site, 3)
    config = site.config()
    found = scan(config.paths.seeds, config.ignore_patterns)
    site.seed("0001.txt", "date 2026-02-02\ntitle: Переписана\n\nНовий текст.\n")
    conn = connect(config.paths.state)
    try:
        read_corpus(config, conn, found)  # read the new bytes against the old stat
        site.seed("0001.txt", "date 2026-02-02\ntitle: Переписана вдруге\n\nІще текст.\n")
        build(config, datetime(2026, 3, 1, 12, tzinfo=config.site.tz), conn)
    finally:
        conn.close()
    assert "Переписана вдруге" in (site.out / "feed.json").read_text(encoding="utf-8")


def test_a_seed_replaced_by_a_folder_after_the_scan_is_one_error(site: Site) -> None:
    fill(site, 2)
    config = site.config()
    found = scan(config.paths.seeds, config.ignore_patterns)
    (site.seeds / "0001.txt").unlink()
    (site.seeds / "0001.txt").mkdir()
    conn = connect(config.paths.state)
    try:
        corpus = read_corpus(config, conn, found)
    finally:
        conn.close()
    assert [m.id for m in corpus.metas] == ["0000"]
    assert [(e.path, e.reason) for e in corpus.errors] == [("0001.txt", "is a folder, not a file")]


def test_a_seed_replaced_by_a_fifo_after_the_scan_does_not_block(site: Site) -> None:
    fill(site, 2)
    config = site.config()
    found = scan(config.paths.seeds, config.ignore_patterns)
    (site.seeds / "0001.txt").unlink()
    os.mkfifo(site.seeds / "0001.txt")
    conn = connect(config.paths.state)
    try:
        corpus = read_corpus(config, conn, found)
    finally:
        conn.close()
    assert [(e.path, e.reason) for e in corpus.errors] == [("0001.txt", "not a regular file")]


def test_seeds_rewritten_and_deleted_during_a_real_build_never_crash_it(
    site: Site, tmp_path: Path
) -> None:
    fill(site, 1200)  # above the threshold for forked parse workers
    rng = random.Random(7)
    process = start(site, "build", "--now", NOW)
    changes = 0
    while process.poll() is None or changes == 0:
        number = rng.randrange(1200)
        path = site.seeds / f"{number:04d}.txt"
        if rng.random() < 0.3:
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"date 2026-02-10\n\nПереписана стаття {number} {changes}.\n", "utf-8")
            os.utime(path, (OLD, OLD + changes))
        changes += 1
    status, err = finish(process)
    assert status == 0, err
    assert "unexpected error" not in err
    for line in err.splitlines():
        assert line.startswith("seeds/") and ": " in line, line  # one line per skipped seed
    result = site.run("build", "--now", NOW)
    assert (result.returncode, result.stderr) == (0, "")
    # Slugs and archive order keep their history, so compare what the pages say: every
    # seed as it is now, nothing deleted, nothing stale.
    reference = clean_build(tmp_path, site.seeds, NOW)
    assert headings(tree(site.out)) == headings(reference)


def headings(files: dict[str, bytes]) -> list[str]:
    """The h1 of every article page, sorted."""
    return sorted(
        lxml.html.document_fromstring(data).findtext(".//h1") or ""
        for path, data in files.items()
        if path.startswith("articles/")
    )
