"""The lock names its holder: `feeds run` reports a lock held longer than lock.max_age (one
line, exit 1, so cron mails it), a build waiting for the lock says so on a terminal or with -v,
and the digest says what it did in one line there; under cron success stays silent."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.store.lock import read_holder
from tests.conftest import SITE_TOML, Site
from tests.digest_site import article, digest_toml, subscribe
from tests.smtp_server import smtp_server
from tests.test_watch import Watch

HOLDER = """
import fcntl, json, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
if sys.argv[2] != "none":
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": os.getpid(), "started": float(sys.argv[2])}).encode())
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def lock_held(site: Site, started: float | None) -> Iterator[int]:
    """Another process holds the state lock, having recorded `started` (None: no record)."""
    site.state.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(site.state / "lock"), str(started or "none")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        yield holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def stamp(started: float) -> str:
    return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_run_names_a_lock_held_longer_than_max_age_and_exits_1(site: Site) -> None:
    started = time.time() - 2 * 3600
    with lock_held(site, started) as pid:
        result = site.run("run")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert f"pid {pid}" in lines[0]
    assert stamp(started) in lines[0]
    assert "lock.max_age" in lines[0]


def test_run_honours_a_configured_max_age(tmp_path: Path) -> None:
    site = Site(tmp_path, SITE_TOML + "\n[lock]\nmax_age = 60\n")
    started = time.time() - 120
    with lock_held(site, started) as pid:
        result = site.run("run")
    assert (result.returncode, f"pid {pid}" in result.stderr) == (1, True)


@pytest.mark.parametrize("started", ["young", "unrecorded"])
def test_run_beside_a_young_or_unnamed_lock_exits_0_quietly(site: Site, started: str) -> None:
    with lock_held(site, time.time() if started == "young" else None):
        result = site.run("run")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_lock_records_its_holder_while_held(site: Site) -> None:
    daemon = Watch(site)
    try:
        daemon.until(
            lambda: (h := read_holder(site.state)) is not None and h.pid == daemon.proc.pid,
            "the daemon's pid in the lock file",
        )
        holder = read_holder(site.state)
        assert holder is not None and abs(holder.started - time.time()) < 60
    finally:
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.proc.wait(timeout=30)


def _wait_notice(site: Site, *args: str, terminal: bool) -> tuple[int, str]:
    """`feeds ARGS build` while the lock is held: read its stderr until it says it waits,
    then let the holder go; (exit status, what it said)."""
    started = time.time()
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    with lock_held(site, started) as pid:
        if terminal:
            master, slave = pty.openpty()
        else:
            master, slave = os.pipe()
        command = [sys.executable, "-m", "feeds", "--config", str(site.config_path), *args]
        build = subprocess.Popen([*command, "build"], stderr=slave, cwd=site.root, env=env)
        os.close(slave)
        said = b""
        while b"\n" not in said:
            chunk = os.read(master, 4096)
            assert chunk, "the waiting build said nothing"
            said += chunk
    status = build.wait(timeout=60)
    os.close(master)
    text = said.decode()
    assert f"pid {pid}" in text and stamp(started) in text
    return status, text


@pytest.mark.parametrize("where", ["terminal", "-v"])
def test_a_build_waiting_for_the_lock_says_so_and_names_the_holder(site: Site, where: str) -> None:
    site.seed("a.txt", "date 2026-02-10\ntitle Перша\n\nТекст.\n")
    args = () if where == "terminal" else ("-v",)
    status, text = _wait_notice(site, *args, terminal=where == "terminal")
    assert status == 0
    assert "waiting for the lock" in text


def test_digest_dry_run_and_send_say_one_line_with_v(tmp_path: Path) -> None:
    with smtp_server() as server:
        site = Site(tmp_path, digest_toml(server.port))
        subscribe(site, "olena@example.org", "taras@example.org")
        article(site, "a", "2026-02-19 10:00")
        assert site.run("build", "--now", "2026-02-21").returncode == 0
        dry = site.run("-v", "digest", "--dry-run", "--now", "2026-02-21")
        sent = site.run("-v", "digest", "--send", "--now", "2026-02-21")
        quiet = site.run("digest", "--send", "--now", "2026-02-21")
    dry_line = "feeds: digests/2026-W08: 1 article; written, nothing sent (no --send)\n"
    assert dry_line in dry.stderr
    assert "feeds: digests/2026-W08: 1 article; sent 2, failed 0, waiting 0\n" in sent.stderr
    assert (quiet.returncode, quiet.stderr) == (0, "")


def test_watch_v_logs_our_info_without_debug_or_library_chatter(site: Site) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_NOW", "FEEDS_CONFIG")}
    log_path = site.root / "watch.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "feeds", "-v", "--config", str(site.config_path), "watch"],
            cwd=site.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while not (site.out / "feed.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log_path.read_text(encoding="utf-8")
    assert " INFO watching " in text
    assert " DEBUG " not in text
    assert "tzlocal" not in text and "apscheduler" not in text


def test_holder_record_is_json_with_pid_and_start(site: Site) -> None:
    assert site.run("build").returncode == 0
    record = json.loads((site.state / "lock").read_text(encoding="utf-8"))
    assert set(record) == {"pid", "started"}
