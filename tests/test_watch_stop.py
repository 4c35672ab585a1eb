"""SIGTERM stops `feeds watch` within 10 s at any point (a real daemon on a corpus whose first
build takes seconds, and mid-send of a digest whose SMTP server never answers), with status 0;
an abandoned build is safe: the next build publishes everything and leaves no temp file."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.mail.slots import latest_slot
from feeds.store.lock import read_holder
from feeds.store.schema import DB_NAME
from tests.conftest import Site
from tests.digest_site import article, digest_toml, subscribe
from tests.smtp_server import smtp_server
from tests.test_watch import Watch

STOP_WITHIN = 10.0  # seconds from SIGTERM to exit, the promise in README
ARTICLES = 4000  # a first build of several seconds on one thread

PARAGRAPH = (
    "Про це заявив президент під час зустрічі з журналістами у Києві, наголосивши, що "
    "оборонна співпраця має бути довгостроковою та взаємовигідною для обох країн. "
)


def big_corpus(site: Site) -> None:
    for n in range(ARTICLES):
        body = "\n\n".join(PARAGRAPH * 3 for _ in range(4))
        site.seed(
            f"{n:05d}.txt",
            f"date 2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}\ntitle Новина {n}\ntags: т{n % 50}\n\n"
            f"{body}\n",
        )


def stop_time(daemon: Watch) -> float:
    """SIGTERM now; the seconds until the process is gone (asserting status 0)."""
    start = time.monotonic()
    daemon.proc.send_signal(signal.SIGTERM)
    status = daemon.proc.wait(timeout=60)
    elapsed = time.monotonic() - start
    assert status == 0, daemon.log()
    return elapsed


def no_temp_files(out: Path) -> bool:
    return not any(p.name.startswith(".feeds-") for p in out.rglob("*"))


def holds_the_lock(site: Site, daemon: Watch) -> bool:
    holder = read_holder(site.state)
    return holder is not None and holder.pid == daemon.proc.pid


POINTS: dict[str, Callable[[Site, Watch], bool]] = {
    "reading": holds_the_lock,
    "writing": lambda site, daemon: (site.out / "articles").is_dir(),
}


@pytest.mark.parametrize("point", list(POINTS))
def test_sigterm_mid_build_exits_0_within_10_s_and_the_next_build_recovers(
    site: Site, point: str
) -> None:
    big_corpus(site)
    daemon = Watch(site)
    try:
        daemon.until(lambda: POINTS[point](site, daemon), point, timeout=60)
        in_build = not (site.out / "feed.json").exists()
        assert stop_time(daemon) < STOP_WITHIN, daemon.log()
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert "Traceback" not in daemon.log()
    if point == "writing":
        assert in_build, "the build was over before the signal: make the corpus bigger"
        result = site.run("build")
        assert result.returncode == 0, result.stderr
        assert (site.out / "feed.json").is_file()
        assert no_temp_files(site.out)


def test_sigterm_while_a_build_is_stuck_on_the_state_database_exits_within_10_s(
    site: Site,
) -> None:
    """A build that cannot go on (here: another process holds the database's write lock, which
    a build waits 60 s for) is left behind on SIGTERM instead of being waited for."""
    site.seed("a.txt", "date 2026-02-10\ntitle Перша\n\nТекст.\n")
    assert site.run("build").returncode == 0
    site.seed("b.txt", "date 2026-02-11\ntitle Друга\n\nТекст.\n")
    blocker = sqlite3.connect(site.state / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    daemon = Watch(site)
    try:
        daemon.until(lambda: holds_the_lock(site, daemon), "the daemon's build")
        assert stop_time(daemon) < STOP_WITHIN, daemon.log()
    finally:
        blocker.rollback()
        blocker.close()
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert "abandoned" in daemon.log()
    assert site.run("build").returncode == 0
    assert "Друга" in (site.out / "feed.json").read_text(encoding="utf-8")
    assert no_temp_files(site.out)


def test_sigterm_when_idle_exits_0_at_once(site: Site) -> None:
    daemon = Watch(site)
    try:
        daemon.ready()
        assert stop_time(daemon) < STOP_WITHIN
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    assert daemon.log().rstrip().endswith("stopped")


def test_sigterm_mid_send_to_a_server_that_never_answers_exits_within_10_s(
    tmp_path: Path,
) -> None:
    with smtp_server() as server:
        site = Site(tmp_path, digest_toml(server.port))
        subscribe(site, "olena@example.org", "taras@example.org")
        slot = latest_slot(site.config(), datetime.now(site.config().site.tz))
        article(site, "missed", (slot.at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))
        server.hold_at(1)  # never released: the reply to the first message never comes
        daemon = Watch(site)
        try:
            assert server.held.wait(60), daemon.log()
            assert stop_time(daemon) < STOP_WITHIN, daemon.log()
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
        assert "abandoned" in daemon.log()
