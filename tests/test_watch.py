"""`feeds watch` as a real process: it publishes dropped and slowly written files, held-back
articles when due, sends a missed digest on start, survives a failing job, and exits 0 on
SIGTERM or SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from feeds.mail.slots import latest_slot
from tests.conftest import Site
from tests.digest_site import article, delivery_states, digest_toml, subscribe
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

DEADLINE = 15.0  # generous: the machine is shared; the latency is measured separately


class Watch:
    """A running `feeds watch` subprocess with its log in a file."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.log_path = site.root / "watch.log"
        env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_NOW", "FEEDS_CONFIG")}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "feeds", "--config", str(site.config_path), "watch"],
                cwd=site.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def until(self, condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> float:
        """Poll until condition() holds; returns when (time.time()); fails with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return time.time()
            if self.proc.poll() is not None:
                pytest.fail(
                    f"feeds watch exited ({self.proc.returncode}) before {what}:\n{self.log()}"
                )
            time.sleep(0.05)
        pytest.fail(f"no {what} within {timeout} s; log:\n{self.log()}")

    def ready(self) -> None:
        self.until(lambda: (self.site.out / "feed.json").is_file(), "first build")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=DEADLINE)


@pytest.fixture
def watch(site: Site) -> Iterator[Callable[[], Watch]]:
    started: list[Watch] = []

    def start() -> Watch:
        daemon = Watch(site)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(timeout=DEADLINE)


def feed_text(site: Site) -> str:
    try:
        return (site.out / "feed.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def in_feed(site: Site, title: str) -> bool:
    text = feed_text(site)
    if not text:
        return False
    return any(item.get("title") == title for item in json.loads(text)["items"])


def old_mtime(path: Path) -> None:
    stamp = time.time() - 10
    os.utime(path, (stamp, stamp))


def test_a_file_renamed_into_the_seeds_is_published_and_sigterm_exits_0(
    site: Site, watch: Callable[[], Watch]
) -> None:
    daemon = watch()
    daemon.ready()
    temp = site.seeds / ".incoming.txt.tmp"
    temp.write_text("date 2026-02-18 10:00\ntitle Скинутий файл\n\nПривіт.\n", encoding="utf-8")
    os.rename(temp, site.seeds / "dropped.txt")
    daemon.until(lambda: in_feed(site, "Скинутий файл"), "dropped article in feed.json")
    assert daemon.stop(signal.SIGTERM) == 0
    log = daemon.log()
    assert "published 1 article" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_daemon_with_status_0(
    site: Site, watch: Callable[[], Watch], sig: int
) -> None:
    daemon = watch()
    daemon.ready()
    assert daemon.stop(sig) == 0
    assert daemon.log().rstrip().endswith("stopped")


def test_a_file_written_slowly_is_published_only_once_it_settled(
    site: Site, watch: Callable[[], Watch]
) -> None:
    daemon = watch()
    daemon.ready()
    pieces = ["date 2026-02-18 10:00\ntitle Повільний файл\n\n"]
    pieces += [f"Частина {n} довгої статті.\n\n" for n in range(1, 4)]
    pieces.append("Кінець статті.\n")
    with open(site.seeds / "slow.txt", "w", encoding="utf-8") as handle:
        for piece in pieces:
            handle.write(piece)
            handle.flush()
            assert not in_feed(site, "Повільний файл"), "published while still being written"
            # The writer's pace: slower than a poll and than the build's 0.4 s re-check,
            # faster than the one second a file must be still to count as settled.
            time.sleep(0.5)
    daemon.until(lambda: in_feed(site, "Повільний файл"), "slowly written article")
    item = next(i for i in json.loads(feed_text(site))["items"] if i["title"] == "Повільний файл")
    assert "Кінець статті." in item["content_html"]
    assert daemon.stop() == 0


def test_an_article_dated_a_few_seconds_ahead_appears_when_due(
    site: Site, watch: Callable[[], Watch]
) -> None:
    due = datetime.now().astimezone() + timedelta(seconds=4)
    path = site.seeds / "soon.txt"
    path.write_text(
        f"date {due.isoformat(timespec='seconds')}\ntitle Скоро\n\nНезабаром.\n", encoding="utf-8"
    )
    old_mtime(path)
    daemon = watch()
    daemon.ready()
    assert not in_feed(site, "Скоро")
    seen = daemon.until(lambda: in_feed(site, "Скоро"), "article due in 4 s")
    assert seen >= due.replace(microsecond=0).timestamp()
    assert daemon.stop() == 0


def test_a_failing_job_is_logged_once_and_the_daemon_goes_on(
    site: Site, watch: Callable[[], Watch]
) -> None:
    daemon = watch()
    daemon.ready()
    blocker = site.out / "articles"
    if blocker.is_dir():
        blocker.rename(site.out / "articles-moved")
    blocker.write_text("not a folder", encoding="utf-8")
    path = site.seeds / "blocked.txt"
    path.write_text("date 2026-02-18 10:00\ntitle Заблокована\n\nТекст.\n", encoding="utf-8")
    old_mtime(path)
    daemon.until(lambda: "job failed" in daemon.log(), "logged job failure")
    blocker.unlink()
    daemon.until(lambda: in_feed(site, "Заблокована"), "article after the failure cleared")
    assert daemon.log().count("job failed") == 1
    assert daemon.stop() == 0


def test_a_restarted_daemon_sends_the_digest_it_missed(tmp_path: Path) -> None:
    with smtp_server() as server:
        site = Site(tmp_path, digest_toml(server.port))
        subscribe(site, "olena@example.org")
        slot = latest_slot(site.config(), datetime.now(site.config().site.tz))
        article(site, "missed", (slot.at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))
        daemon = Watch(site)
        try:
            daemon.until(lambda: len(server.messages) == 1, "the missed digest")
            assert daemon.stop() == 0
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
        assert server.recipients() == ["olena@example.org"]
        assert f"digest {slot.week}: 1 article; 1 sent" in daemon.log()


def test_sigterm_during_a_send_lets_the_job_finish_then_exits_0(tmp_path: Path) -> None:
    readers = ["olena@example.org", "taras@example.org"]
    with smtp_server() as server:
        site = Site(tmp_path, digest_toml(server.port))
        subscribe(site, *readers)
        slot = latest_slot(site.config(), datetime.now(site.config().site.tz))
        article(site, "missed", (slot.at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))
        server.hold_at(1)  # the first message waits for its reply: the job is mid-send
        daemon = Watch(site)
        try:
            assert server.held.wait(DEADLINE), daemon.log()
            daemon.proc.send_signal(signal.SIGTERM)
            daemon.until(lambda: "SIGTERM" in daemon.log(), "the signal noted")
            assert daemon.proc.poll() is None  # still in the job
            server.release()
            assert daemon.proc.wait(timeout=DEADLINE) == 0
        finally:
            server.release()
            if daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait()
        assert sorted(server.recipients()) == readers
        assert set(delivery_states(site, slot.week).values()) == {"sent"}


def test_watch_refuses_a_fixed_clock(site: Site) -> None:
    assert site.main("watch", "--now", "2026-02-20T12:00") == 2


def test_watch_without_a_seeds_folder_is_a_config_error(site: Site) -> None:
    site.seeds.rmdir()
    assert site.main("watch") == 2
