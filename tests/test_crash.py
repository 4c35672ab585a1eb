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

from feeds.store.schema import DB_NAME
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
from feeds.store import manifest as db
from feeds.store.schema import connect

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


# kill -9 at random points of incremental builds with deletions, moves between sections
# and removed images (issue 13.2): the next build must converge to a cold build.

COUNTING_BUILD = r"""
import os, signal, sqlite3, sys

limit = int(os.environ["FEEDS_KILL_AT"])  # 0: never
ticks = 0


def tick():
    global ticks
    ticks += 1
    if ticks == limit:
        os.kill(os.getpid(), signal.SIGKILL)


def around(call, counts=lambda *a, **k: True):
    def wrapped(*args, **kwargs):
        hit = counts(*args, **kwargs)
        if hit:
            tick()
        result = call(*args, **kwargs)
        if hit:
            tick()
        return result
    return wrapped


# Kill points: before and after each rename, unlink, rmdir, file creation and commit.
os.replace = around(os.replace)
os.unlink = around(os.unlink)
os.rmdir = around(os.rmdir)
os.open = around(os.open, lambda path, flags, *a, **k: bool(flags & os.O_CREAT))


class Counting(sqlite3.Connection):
    def execute(self, sql, *args):
        return around(super().execute, lambda sql, *a: sql == "COMMIT")(sql, *args)


real_connect = sqlite3.connect
sqlite3.connect = lambda *a, **k: real_connect(*a, factory=Counting, **k)

from feeds.cli.main import main

code = main(sys.argv[1:])
with open(os.environ["FEEDS_KILL_COUNT"], "w") as out:
    out.write(str(ticks))
sys.exit(code)
"""

SECTIONS = ("", "sport/", "kultura/")
KILLS = 20


def folders_under(root: Path) -> set[str]:
    """Every folder below root (not root itself), by relative path."""
    return {
        (Path(folder) / name).relative_to(root).as_posix()
        for folder, names, _ in os.walk(root)
        for name in names
    }


class Seeds:
    """A small seeds folder changed at random: seeds added, edited (same title, so the same
    slug), deleted and moved between sections; images removed and put back."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root, self.rng, self.count = root, rng, 0
        self.where: dict[int, str] = {}  # seed number -> its section folder
        for folder in SECTIONS:
            (root / folder).mkdir(parents=True, exist_ok=True)
            self.image(folder)

    def image(self, folder: str) -> None:
        path = self.root / folder / "pic.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + folder.encode() * 3)
        os.utime(path, (OLD, OLD))

    def write(self, number: int, revision: int) -> None:
        path = self.root / self.where[number] / f"{number:03d}.txt"
        image = "image: pic.png\n" if number % 3 else ""
        path.write_text(
            f"title: Стаття {number}\ndate: 2026-02-{1 + number % 27:02d} 10:00\n"
            f"tags: тема {number % 4}\n{image}\nРедакція {revision} статті {number}.\n",
            encoding="utf-8",
        )
        os.utime(path, (OLD + revision, OLD + revision))

    def add(self) -> None:
        self.count += 1
        self.where[self.count] = self.rng.choice(SECTIONS)
        self.write(self.count, 0)

    def change(self) -> str:
        """One random change; what it was."""
        action = self.rng.choice(["delete", "move", "move", "unimage", "image", "edit", "add"])
        if len(self.where) < 5:
            action = "add"
        number = self.rng.choice(sorted(self.where))
        path = self.root / self.where[number] / f"{number:03d}.txt"
        if action == "delete":
            path.unlink()
            del self.where[number]
        elif action == "move":
            folder = self.rng.choice([f for f in SECTIONS if f != self.where[number]])
            path.rename(self.root / folder / path.name)
            self.where[number] = folder
        elif action == "unimage":
            pictures = sorted(self.root.glob("**/pic.png"))
            if pictures:
                self.rng.choice(pictures).unlink()
        elif action == "image" and any(not (self.root / f / "pic.png").exists() for f in SECTIONS):
            self.image(
                self.rng.choice(
                    [f for f in SECTIONS if not (self.root / f).joinpath("pic.png").exists()]
                )
            )
        elif action in ("edit", "image"):
            self.write(number, self.rng.randint(1, 10**6))
        else:
            self.add()
        return f"{action} {number}"


def test_kill_9_at_random_points_of_incremental_builds_then_the_next_build_equals_a_cold_one(
    tmp_path: Path,
) -> None:
    from feeds.config import load_config
    from feeds.publish.build import build
    from feeds.read.dates import parse_now
    from feeds.store.schema import connect

    seed = os.environ.get("FEEDS_CRASH_SEED", "13")
    print(f"FEEDS_CRASH_SEED={seed}")
    rng = random.Random(seed)
    site = Seeds(tmp_path / "seeds", rng)
    for _ in range(9):
        site.add()
    victim = tmp_path / "feeds.toml"
    victim.write_text(config_text("public", "state"), encoding="utf-8")
    config = load_config(victim)
    now = parse_now(NOW, config.site.tz)
    out = tmp_path / "public"
    out.mkdir()
    (out / "CNAME").write_text("news.example.org\n", encoding="utf-8")  # the user's own
    (out / ".well-known").mkdir()
    (out / ".well-known" / "security.txt").write_text("Contact: x@example.org\n", "utf-8")
    count_file = tmp_path / "ticks"

    def killed_build(kill_at: int) -> int | None:
        """A real build subprocess, SIGKILLed at its kill_at-th kill point; the number of
        kill points it passed when it finished first, else None."""
        count_file.unlink(missing_ok=True)
        env = {**os.environ, "FEEDS_KILL_AT": str(kill_at), "FEEDS_KILL_COUNT": str(count_file)}
        command = [sys.executable, "-c", COUNTING_BUILD, *feeds_command(victim)[3:]]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=60)
        if done.returncode == -signal.SIGKILL:
            return None
        assert done.returncode == 0, done.stderr
        return int(count_file.read_text())

    assert killed_build(0)  # the first build, whole
    site.change()
    ticks = killed_build(0)  # how many kill points an incremental build has, about
    assert ticks
    kills = 0
    for round_number in range(60):
        changes = [site.change() for _ in range(rng.randint(1, 3))]
        kill_at = rng.randint(1, ticks)
        finished = killed_build(kill_at)
        kills += finished is None
        if finished is not None and finished > 6:  # not a build that found nothing to do
            ticks = finished
        conn = connect(config.paths.state)
        try:
            build(config, now, conn)  # the build after the kill, to completion
        finally:
            conn.close()
        scratch = tmp_path / f"cold-{round_number}"
        cold = config.replace_paths(out=scratch / "public", state=scratch / "state")
        conn = connect(cold.paths.state)
        try:
            build(cold, now, conn)
        finally:
            conn.close()
        print(f"round {round_number}: {changes} kill at {kill_at}/{ticks}: {finished}")
        where = f"round {round_number} ({changes}, killed at {kill_at} of ~{ticks})"
        mine = {rel for rel in files_under(out) if rel != "CNAME" and ".well-known" not in rel}
        assert sorted(mine) == sorted(files_under(cold.paths.out)), where
        assert folders_under(out) - {".well-known"} == folders_under(cold.paths.out), where
        assert_same_tree_except(out, cold.paths.out, {"CNAME", ".well-known/security.txt"})
        assert (out / "CNAME").read_text(encoding="utf-8") == "news.example.org\n"
        if kills >= KILLS:
            break
    assert kills >= KILLS, f"only {kills} builds were killed"


def assert_same_tree_except(actual: Path, expected: Path, extra: set[str]) -> None:
    """Same files with the same bytes, apart from the extra files in actual."""
    mine, theirs = files_under(actual), files_under(expected)
    assert sorted(set(mine) - extra) == sorted(theirs)
    assert [rel for rel in theirs if mine[rel].read_bytes() != theirs[rel].read_bytes()] == []
