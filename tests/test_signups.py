"""The readers' side of the state: migration 2, sign-up throttling, token expiry, erasure."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.store import signups
from feeds.store.backend import Conn
from feeds.store.manifest import transaction
from feeds.store.schema import DB_NAME, MIGRATIONS, connect, open_state
from tests.conftest import Site

NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def conn(backend_site: Site) -> Iterator[Conn]:
    """An open state database on each backend (SQLite, PostgreSQL)."""
    opened = open_state(backend_site.config())
    yield opened
    opened.close()


def test_existing_subscribers_stay_active_after_the_migration(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO subscribers (email, token, added_at, removed_at) VALUES"
        " ('stay@example.org', 'tok-stay-0123456789', 'x', NULL),"
        " ('left@example.org', 'tok-left-0123456789', 'x', 'y')"
    )
    old.close()
    conn = connect(tmp_path)
    people = {p.email: p.status for p in signups.all_people(conn)}
    assert people == {"stay@example.org": "active", "left@example.org": "unsubscribed"}
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_pending_address_gets_one_mail_an_hour_and_a_link_for_seven_days(conn: Conn) -> None:
    with transaction(conn):
        assert signups.sign_up(conn, "p@example.org", "", "h", NOW) == "new"
        assert signups.sign_up(conn, "p@example.org", "", "h", NOW + timedelta(minutes=59)) == (
            "throttled"
        )
        assert signups.sign_up(conn, "p@example.org", "", "h", NOW + timedelta(hours=1)) == (
            "resent"
        )
    mails = signups.due_mail(conn, NOW + timedelta(hours=1))
    assert len(mails) == 2
    token = mails[0].secret
    stored = conn.execute("SELECT digest FROM confirm_tokens").fetchall()
    assert (signups.token_digest(token),) in stored and (token,) not in stored  # hashed
    assert signups.check_confirm_token(conn, token, NOW + timedelta(days=7)) is None  # expired
    with transaction(conn):
        person = signups.confirm(conn, token, "h2", NOW + timedelta(days=6))
    assert person is not None and person.status == "active"


def test_rate_limit_counts_per_client_and_hour(conn: Conn) -> None:
    with transaction(conn):
        hits = [signups.hit_rate(conn, "client:x", NOW, 3) for _ in range(4)]
        later = signups.hit_rate(conn, "client:x", NOW + timedelta(hours=1), 3)
    assert hits == [True, True, True, False] and later


def test_forget_erases_every_trace(conn: Conn) -> None:
    with transaction(conn):
        signups.sign_up(conn, "f@example.org", "F", "h", NOW)
        assert signups.forget(conn, "F@example.org")
    for table in ("subscribers", "confirm_tokens", "outbox", "soft_bounces"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_export_gives_what_is_stored_without_the_token(conn: Conn) -> None:
    with transaction(conn):
        signups.sign_up(conn, "e@example.org", "E", "h", NOW)
    found = signups.export(conn, "e@example.org")
    assert found is not None
    assert found["subscriber"]["email"] == "e@example.org" and "token" not in found["subscriber"]
    assert found["subscriber"]["status"] == "pending"
    assert [m["kind"] for m in found["confirmation_mails"]] and found["confirmation_links"]
    assert signups.export(conn, "nobody@example.org") is None
