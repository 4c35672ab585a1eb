"""digest_tick, the library call behind `feeds digest` and `feeds run`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.mail.digest_run import DigestTick, digest_tick
from tests.conftest import Site
from tests.digest_site import article, build, digest_toml, state, subscribe
from tests.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

KYIV = ZoneInfo("Europe/Kyiv")
SAT = datetime(2026, 2, 21, 10, tzinfo=KYIV)


def make_site(tmp_path: Path, port: int) -> Site:
    site = Site(tmp_path, digest_toml(port))
    article(site, "a1", "2026-02-18T12:00")
    article(site, "a2", "2026-02-19T12:00")
    build(site, "2026-02-21T10:00")
    subscribe(site, "ann@example.org", "bob@example.org")
    return site


def tick(site: Site, now: datetime = SAT, **options: object) -> DigestTick:
    conn = state(site)
    try:
        return digest_tick(site.config(), now, conn, **options)  # type: ignore[arg-type]
    finally:
        conn.close()


def test_tick_creates_and_delivers_the_due_digest(tmp_path: Path, server: SmtpTestServer) -> None:
    site = make_site(tmp_path, server.port)
    assert tick(site) == DigestTick("2026-W08", 2, 2, 0, 0, 0)


def test_tick_with_nothing_due_is_a_no_op(tmp_path: Path, server: SmtpTestServer) -> None:
    site = make_site(tmp_path, server.port)
    tick(site)
    assert tick(site, datetime(2026, 2, 21, 11, tzinfo=KYIV)).week is None
    assert len(server.messages) == 2


def test_tick_without_send_writes_files_and_queues_nothing(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    site = make_site(tmp_path, server.port)
    result = tick(site, send=False)
    assert (result.week, result.sent, result.exit_code) == ("2026-W08", 0, 0)
    assert (site.out / "digests" / "2026-W08.eml").is_file() and server.messages == []


def test_tick_reports_an_unreachable_server_with_exit_code_4(tmp_path: Path) -> None:
    site = make_site(tmp_path, free_port())
    result = tick(site)
    assert (result.exit_code, result.deferred, result.sent) == (4, 2, 0)
    assert "cannot reach SMTP server" in result.error


def test_tick_before_any_slot_with_articles_does_nothing(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    site = make_site(tmp_path, server.port)
    assert tick(site, datetime(2026, 2, 20, 16, 59, tzinfo=KYIV)).week is None
