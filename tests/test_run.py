"""`feeds run`: one cron tick, quiet, idempotent, catching up, alone under the lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.store.schema import locked_state
from tests.conftest import Site
from tests.digest_site import article, digest_ids, digest_toml, subscribe
from tests.smtp_server import SmtpTestServer as SmtpServer
from tests.smtp_server import smtp_server

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

READERS = ("olena@example.org", "taras@example.org")


@pytest.fixture
def mail_site(tmp_path: Path, server: SmtpServer) -> Site:
    site = Site(tmp_path, digest_toml(server.port))
    subscribe(site, *READERS)
    return site


def feed_ids(site: Site) -> list[str]:
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    return sorted(item["url"].rsplit("/", 1)[-1] for item in feed["items"])


def start_run(site: Site, now: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "run", "--now", now],
        cwd=site.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_run_is_silent_and_publishes_only_what_is_due(site: Site) -> None:
    article(site, "past", "2026-02-18 09:00")
    article(site, "future", "2026-02-19 12:00")
    done = site.run("run", "--now", "2026-02-19T11:59")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert len(feed_ids(site)) == 1
    assert site.main("run", "--now", "2026-02-19T12:00") == 0
    assert len(feed_ids(site)) == 2


def test_feeds_now_from_the_environment_drives_the_tick(site: Site) -> None:
    article(site, "future", "2026-02-19 12:00")
    early = site.run("run", env={"FEEDS_NOW": "2026-02-19T11:00"})
    assert early.returncode == 0 and feed_ids(site) == []
    late = site.run("run", env={"FEEDS_NOW": "2026-02-19T13:00"})
    assert late.returncode == 0 and len(feed_ids(site)) == 1


def test_a_skipped_seed_is_one_line_and_the_run_still_succeeds(site: Site) -> None:
    article(site, "good", "2026-02-18 09:00")
    site.seed("bad.txt", "date 2026-02-30 Нема такого дня.\n")
    done = site.run("run", "--now", "2026-02-19T12:00")
    assert done.returncode == 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("seeds/bad.txt: ")
    assert len(feed_ids(site)) == 1


def test_two_runs_in_a_row_send_one_digest(mail_site: Site, server: SmtpServer) -> None:
    article(mail_site, "a1", "2026-02-16 10:00")
    article(mail_site, "a2", "2026-02-19 10:00")
    first = mail_site.run("run", "--now", "2026-02-20T17:05")
    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")
    assert sorted(server.recipients()) == sorted(READERS)
    second = mail_site.run("run", "--now", "2026-02-20T17:10")
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert len(server.messages) == 2
    assert (mail_site.out / "digests" / "2026-W08.html").is_file()


def test_no_digest_before_the_slot(mail_site: Site, server: SmtpServer) -> None:
    article(mail_site, "a1", "2026-02-16 10:00")
    assert mail_site.main("run", "--now", "2026-02-20T16:59") == 0
    assert server.messages == []
    assert not (mail_site.out / "digests").exists()


@pytest.mark.parametrize(
    ("article_at", "before", "after", "offset"),
    [
        # The Friday before DST starts (EET, +02:00) and the one after (EEST, +03:00).
        ("2026-03-25 10:00", "2026-03-27T16:59:59", "2026-03-27T17:00:00", "+0200"),
        ("2026-04-01 10:00", "2026-04-03T16:59:59", "2026-04-03T17:00:00", "+0300"),
        # The Friday before DST ends (EEST) and the one after (EET).
        ("2026-10-21 10:00", "2026-10-23T16:59:59", "2026-10-23T17:00:00", "+0300"),
        ("2026-10-28 10:00", "2026-10-30T16:59:59", "2026-10-30T17:00:00", "+0200"),
    ],
)
def test_digest_goes_out_at_five_pm_kyiv_time_around_dst_changes(
    mail_site: Site, server: SmtpServer, article_at: str, before: str, after: str, offset: str
) -> None:
    article(mail_site, "a1", article_at)
    assert mail_site.main("run", "--now", before) == 0
    assert server.messages == []
    assert mail_site.main("run", "--now", after) == 0
    assert len(server.messages) == 2
    assert server.messages[0].message["Date"].endswith(offset)


def test_after_downtime_one_digest_covers_everything_since_the_last(
    mail_site: Site, server: SmtpServer
) -> None:
    article(mail_site, "w08", "2026-02-18 10:00")
    assert mail_site.main("run", "--now", "2026-02-20T17:01") == 0
    assert digest_ids(mail_site, "2026-W08") == ["w08"]
    # Down from Friday evening until Monday 9 March: two send slots (W09, W10) missed.
    article(mail_site, "w09", "2026-02-25 10:00")
    article(mail_site, "w10", "2026-03-04 10:00")
    article(mail_site, "w11", "2026-03-09 08:00")  # after the missed slots: next week's
    assert mail_site.main("run", "--now", "2026-03-09T09:00") == 0
    assert digest_ids(mail_site, "2026-W10") == ["w09", "w10"]
    assert digest_ids(mail_site, "2026-W09") == []
    assert len(server.messages) == 4  # two digests, each to two readers
    assert mail_site.main("run", "--now", "2026-03-09T09:05") == 0
    assert len(server.messages) == 4


def test_a_second_run_exits_at_once_while_the_first_holds_the_lock(
    mail_site: Site, server: SmtpServer
) -> None:
    article(mail_site, "a1", "2026-02-18 10:00")
    server.hold_at(1)  # the first run stops mid-send, holding the lock
    first = start_run(mail_site, "2026-02-20T17:05")
    try:
        assert server.held.wait(30), first.stderr and first.stderr.read()
        started = time.monotonic()
        second = start_run(mail_site, "2026-02-20T17:05")
        out, err = second.communicate(timeout=30)
        assert (second.returncode, out, err) == (0, "", "")
        assert time.monotonic() - started < 10
        assert first.poll() is None  # still held: the second did not wait for it
    finally:
        server.release()
        out, err = first.communicate(timeout=30)
    assert (first.returncode, out, err) == (0, "", "")
    assert sorted(server.recipients()) == sorted(READERS)


def test_two_runs_started_together_send_each_reader_one_digest(
    mail_site: Site, server: SmtpServer
) -> None:
    article(mail_site, "a1", "2026-02-18 10:00")
    runs = [start_run(mail_site, "2026-02-20T17:05") for _ in range(2)]
    results = [(*run.communicate(timeout=60), run.returncode) for run in runs]
    assert results == [("", "", 0), ("", "", 0)]
    assert sorted(server.recipients()) == sorted(READERS)


def test_a_run_while_another_process_holds_the_lock_changes_nothing(site: Site) -> None:
    article(site, "a1", "2026-02-18 10:00")
    with locked_state(site.config(), 0):  # this test process is "the other run"
        done = site.run("run", "--now", "2026-02-19T12:00")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not (site.out / "feed.json").exists()


def test_unreachable_mail_server_exits_4_and_the_next_run_delivers(tmp_path: Path) -> None:
    with smtp_server() as server:
        port = server.port
    site = Site(tmp_path, digest_toml(port))  # nothing listens on port now
    subscribe(site, *READERS)
    article(site, "a1", "2026-02-18 10:00")
    down = site.run("run", "--now", "2026-02-20T17:05")
    assert down.returncode == 4
    assert down.stdout == "" and len(down.stderr.splitlines()) == 1
    with smtp_server() as server:
        site.config_path.write_text(digest_toml(server.port), encoding="utf-8")
        assert site.main("run", "--now", "2026-02-20T17:20") == 0
        assert sorted(server.recipients()) == sorted(READERS)
