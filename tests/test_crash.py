"""kill -9 at random moments of a large build, and in the middle of a state-database write.

SPEC 3: every file of the publish folder is always its old or its new complete version,
and the next build repairs the rest; the state database never ends up half-written.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import lxml.etree

from feeds.db.schema import DB_NAME
from tests.conftest import integrity

NOW = "2026-03-01T12:00"
ARTICLES = 3000
OLD = 1_700_000_000
TEMP_PREFIX, TEMP_SUFFIX = ".feeds-", ".tmp"
DEADLINE = 300.0


def config_text(out: str, state: str) -> str:
    """A feeds.toml with the shared seeds folder and its own publish and state folders."""
    return textwrap.dedent(
        f"""
        [site]
        title = "Crash test"
        base_url = "https://news.example.org/"
        language = "uk"
        timezone = "Europe/Kyiv"
        id_year = 2026
        [paths]
        seeds = "seeds"
        out = "{out}"
        state = "{state}"
        """
    )


def write_seeds(seeds: Path, count: int, revision: int) -> None:
    """count small seeds; a new revision rewrites every body but keeps titles (and so slugs)."""
    seeds.mkdir(exist_ok=True)
    for number in range(count):
        path = seeds / f"{number:05d}.txt"
        path.write_text(
            f"date 2026-02-{1 + number % 27:02d} {number % 24:02d}:{number % 60:02d}\n"
            f"tags: тема {number % 7}\n\n"
            f"Стаття номер {number} про події дня, що сталися вчора.\n\n"
            f"Редакція {revision}: абзац про {number} & <деталі> ]]>.\n",
            encoding="utf-8",
        )
        os.utime(path, (OLD + revision, OLD + revision))


def feeds_command(config: Path) -> list[str]:
    """The build command line for a config."""
    return [sys.executable, "-m", "feeds", "--config", str(config), "build", "--now", NOW]


def run_build(config: Path) -> None:
    """One complete build; it must succeed."""
    result = subprocess.run(
        feeds_command(config), capture_output=True, text=True, timeout=DEADLINE, cwd=config.parent
    )
    assert result.returncode == 0, result.stderr


def files_under(root: Path) -> dict[str, Path]:
    """Every file below root by relative path."""
    found: dict[str, Path] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            found[path.relative_to(root).as_posix()] = path
    return found


def is_temp(rel: str) -> bool:
    """A staged file not yet renamed into place."""
    name = rel.rpartition("/")[2]
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def written_since(out: Path, since_ns: int, staged: bool) -> int:
    """Files the running build wrote so far: in place only, or staged temp files too."""
    count = 0
    for rel, path in files_under(out).items():
        if is_temp(rel) and not staged:
            continue
        try:
            if path.stat().st_mtime_ns >= since_ns:
                count += 1
        except FileNotFoundError:
            continue  # a temp file renamed while we looked
    return count


def parsed(state: Path, mtime_ns: int) -> int:
    """How many seeds of the revision with this mtime the running build saved as parsed."""
    try:
        conn = sqlite3.connect(f"file:{state / DB_NAME}?mode=ro", uri=True, timeout=1)
        try:
            row = conn.execute("SELECT count(*) FROM seeds WHERE mtime_ns = ?", (mtime_ns,))
            return int(row.fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet, or busy: no progress seen


def kill_point(rng: random.Random, out: Path, state: Path, mtime_ns: int) -> Callable[[], bool]:
    """A random moment of a build: parsing (seeds saved to the manifest, in batches),
    staging files, or renaming them into place."""
    started = time.time_ns()
    phase = rng.choice(["parsing", "staging", "renaming"])
    target = rng.randint(1, 3000)
    print(f"kill while {phase}, at seed or file {target}")
    if phase == "parsing":
        return lambda: parsed(state, mtime_ns) >= target
    return lambda: written_since(out, started, staged=phase == "staging") >= target


def kill_when(command: list[str], cwd: Path, ready: Callable[[], bool]) -> bool:
    """Start a build in its own process group; SIGKILL the group once ready() holds.

    False when the build finished first (then there was nothing to kill).
    """
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + DEADLINE
    try:
        while process.poll() is None:
            if ready():
                os.killpg(process.pid, signal.SIGKILL)  # the build and its forked workers
                process.wait(timeout=60)
                return True
            assert time.monotonic() < deadline, "the build made no progress"
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
    assert process.returncode == 0
    return False


def assert_every_file_complete(out: Path) -> int:
    """Each published file parses as its kind; temp files are ignored. How many were checked."""
    checked = 0
    for rel, path in files_under(out).items():
        if is_temp(rel):
            continue
        data = path.read_bytes()
        if rel.endswith((".xml", ".xsl")):
            lxml.etree.fromstring(data)
        elif rel.endswith(".json"):
            json.loads(data)
        elif rel.endswith(".html"):
            assert data.rstrip().endswith(b"</html>"), rel
        else:
            assert data, rel
        checked += 1
    return checked


def assert_same_tree(actual: Path, expected: Path) -> None:
    """Same files with the same bytes."""
    mine, theirs = files_under(actual), files_under(expected)
    assert sorted(mine) == sorted(theirs)
    different = [rel for rel in mine if mine[rel].read_bytes() != theirs[rel].read_bytes()]
    assert different == []


def test_kill_9_at_random_moments_of_a_3000_article_build_loses_nothing(tmp_path: Path) -> None:
    seed = os.environ.get("FEEDS_CRASH_SEED", str(time.time_ns()))
    print(f"FEEDS_CRASH_SEED={seed}")  # shown on failure, to replay the same kill points
    rng = random.Random(seed)
    seeds, out, state = tmp_path / "seeds", tmp_path / "public", tmp_path / "state"
    victim = tmp_path / "feeds.toml"
    victim.write_text(config_text("public", "state"), encoding="utf-8")
    reference = tmp_path / "reference.toml"
    reference.write_text(config_text("reference", "reference-state"), encoding="utf-8")
    command = feeds_command(victim)

    write_seeds(seeds, ARTICLES, revision=2)
    run_build(reference)  # what a clean build of the final seeds gives

    write_seeds(seeds, ARTICLES, revision=1)
    started = time.time_ns()
    first_batch = rng.randint(1, 1900)  # mid-way through renaming the first batch, or after
    cold = kill_when(command, tmp_path, lambda: written_since(out, started, False) >= first_batch)
    kills = int(cold)
    assert_every_file_complete(out)

    write_seeds(seeds, ARTICLES, revision=2)  # every article page and feed changes
    for _ in range(2):
        kills += kill_when(command, tmp_path, kill_point(rng, out, state, (OLD + 2) * 10**9))
        temps = sum(is_temp(rel) for rel in files_under(out))
        print(f"  left {assert_every_file_complete(out)} complete files and {temps} temp files")
        assert integrity(state) == "ok"

    run_build(victim)
    assert [rel for rel in files_under(out) if is_temp(rel)] == []
    assert_same_tree(out, tmp_path / "reference")
    assert integrity(state) == "ok"
    assert kills >= 1, "no build was killed: the test proved nothing"


KILL_MID_TRANSACTION = """
import os, signal, sys
from pathlib import Path
from feeds.db import manifest as db
from feeds.db.schema import connect

conn = connect(Path(sys.argv[1]))

def rows():
    for number in range(10_000):
        if number == 5_000:
            os.kill(os.getpid(), signal.SIGKILL)  # in the middle of the INSERTs
        yield db.ManifestRow(f"zz{number}.txt", 1, 1, 1, "0" * 64, None, "planted", None)

with db.transaction(conn):
    db.save_outputs(conn, {"index.html": "bogus"}, ())
    db.save_manifest(conn, rows(), ())
"""


def test_kill_9_during_a_state_database_write_leaves_it_whole(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    for number in range(3):
        path = tmp_path / "seeds" / f"{number:03d}.txt"
        path.write_text(f"date 2026-02-2{number}\n\nСтаття {number} про щось.\n", "utf-8")
        os.utime(path, (OLD, OLD))
    victim = tmp_path / "feeds.toml"
    victim.write_text(config_text("public", "state"), encoding="utf-8")
    reference = tmp_path / "reference.toml"
    reference.write_text(config_text("reference", "reference-state"), encoding="utf-8")
    run_build(victim)
    run_build(reference)

    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_TRANSACTION, str(tmp_path / "state")],
        capture_output=True,
        timeout=DEADLINE,
    )
    assert killed.returncode == -signal.SIGKILL

    assert integrity(tmp_path / "state") == "ok"
    conn = sqlite3.connect(tmp_path / "state" / DB_NAME)
    try:
        planted = conn.execute("SELECT count(*) FROM seeds WHERE rel LIKE 'zz%'").fetchone()[0]
        bogus = conn.execute("SELECT count(*) FROM outputs WHERE key = 'bogus'").fetchone()[0]
    finally:
        conn.close()
    assert (planted, bogus) == (0, 0)
    (tmp_path / "seeds" / "003.txt").write_text("date 2026-02-25\n\nНова стаття.\n", "utf-8")
    os.utime(tmp_path / "seeds" / "003.txt", (OLD, OLD))
    run_build(victim)
    run_build(reference)
    assert_same_tree(tmp_path / "public", tmp_path / "reference")
