"""`kill -9` in the middle of sending: a rerun finishes with no lost mail, at most one in doubt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.digest_site import article, build, delivery_states, digest_toml, state
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

SAT = "2026-02-21T10:00"
READERS = tuple(f"reader{n:02d}@example.org" for n in range(30))
DEADLINE = 60.0
SEND = ("digest", "--send", "--now")


@pytest.fixture
def site(tmp_path: Path, server: SmtpTestServer) -> Site:
    """One W08 article and thirty subscribers."""
    site = Site(tmp_path, digest_toml(server.port))
    article(site, "a1", "2026-02-18T12:00")
    build(site, SAT)
    csv = tmp_path / "list.csv"
    csv.write_text("email\n" + "\n".join(READERS) + "\n", encoding="utf-8")
    assert site.main("subscribers", "import", str(csv)) == 0
    return site


def start_send(site: Site, now: str = SAT) -> subprocess.Popen[str]:
    """`feeds digest --send` in a child process that the test can kill."""
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), *SEND, now],
        cwd=site.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when_held(site: Site, server: SmtpTestServer, number: int, *, in_flight: bool) -> None:
    """Run a send and SIGKILL it at message `number`: while its reply is withheld
    (in_flight) or just after the reply went out."""
    server.hold_at(number)
    child = start_send(site)
    try:
        assert server.held.wait(DEADLINE), "the sender never reached the held message"
        if not in_flight:
            server.release()
        child.send_signal(signal.SIGKILL)
        child.wait(DEADLINE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(DEADLINE)
        server.release()
    assert child.returncode == -signal.SIGKILL


def finish(site: Site, now: str = "2026-02-21T10:30") -> None:
    child = start_send(site, now)
    _, err = child.communicate(timeout=DEADLINE)
    assert child.returncode == 0, err


def copies(server: SmtpTestServer) -> Counter[str]:
    return Counter(server.recipients())


def test_kill_while_a_message_is_in_flight_resends_only_that_one(
    site: Site, server: SmtpTestServer
) -> None:
    kill_when_held(site, server, 7, in_flight=True)
    finish(site)
    counts = copies(server)
    assert set(counts) == set(READERS)
    assert sorted(counts.values()) == [1] * (len(READERS) - 1) + [2]


def test_the_message_in_doubt_is_resent_with_the_same_message_id(
    site: Site, server: SmtpTestServer
) -> None:
    kill_when_held(site, server, 7, in_flight=True)
    finish(site)
    ids: dict[str, set[str]] = defaultdict(set)
    for received in server.messages:
        ids[received.rcpt_tos[0]].add(str(received.message["Message-ID"]))
    assert all(len(found) == 1 for found in ids.values())


def test_after_kills_at_several_moments_everyone_has_the_digest_once_or_one_in_doubt(
    site: Site, server: SmtpTestServer
) -> None:
    kills = 0
    for number, in_flight in ((3, False), (9, True), (16, False), (24, True)):
        already = len(server.messages)
        kill_when_held(site, server, number, in_flight=in_flight)
        kills += 1
        assert len(server.messages) > already
    finish(site)
    counts = copies(server)
    assert set(counts) == set(READERS)
    assert sum(n - 1 for n in counts.values()) <= kills
    assert set(delivery_states(site, "2026-W08").values()) == {"sent"}


def test_a_run_after_the_crash_recovery_sends_nothing(site: Site, server: SmtpTestServer) -> None:
    kill_when_held(site, server, 5, in_flight=True)
    finish(site)
    before = len(server.messages)
    finish(site, "2026-02-21T11:00")
    assert len(server.messages) == before


def test_the_killed_run_leaves_one_row_in_sending_at_most(
    site: Site, server: SmtpTestServer
) -> None:
    kill_when_held(site, server, 12, in_flight=True)
    conn = state(site)
    try:
        (sending,) = conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'sending'"
        ).fetchone()
    finally:
        conn.close()
    assert sending == 1
