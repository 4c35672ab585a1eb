"""Readers' side of the state: sign-ups with proof of consent, confirmation tokens, rate
limits, queued confirmation mails, bounces and the incoming mail already handled.

Kept apart from feeds.store.mailing (the digest's tables) so each stays small. Every function
runs inside the caller's transaction (feeds.store.manifest.transaction) unless it says so.
Confirmation tokens are stored only as their sha256; client addresses only as a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from feeds.store.backend import Conn, is_pg
from feeds.store.mailing import DeliveryState, utc_text

Status = Literal["pending", "active", "unsubscribed", "disabled"]
SignUp = Literal["new", "resent", "throttled", "active", "limited"]

CONFIRM_VALID = timedelta(days=7)
CONFIRM_MAIL_EVERY = timedelta(hours=1)
SOFT_BOUNCE_LIMIT = 3


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of a client address: comparable, not reversible without the secret, and
    unlinkable once the secret is rotated."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:32]


def token_digest(token: str) -> str:
    """What the state keeps of a confirmation token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """URL-safe and never starting with "-" (as feeds.mail.subscribers.new_token)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.startswith("-"):
            return token


@dataclass(frozen=True)
class Person:
    """A subscriber as the readers' side sees it."""

    id: int
    email: str
    name: str
    token: str
    status: Status


_PERSON = "id, email, name, token, status"


def find_person(conn: Conn, email: str) -> Person | None:
    """The subscriber with this address (case-insensitive), any status."""
    row = conn.execute(
        f"SELECT {_PERSON} FROM subscribers WHERE {_email_match(conn)}", (email,)
    ).fetchone()
    return None if row is None else Person(*row)


def _email_match(conn: Conn) -> str:
    """Case-insensitive address match: SQLite's column is COLLATE NOCASE; PostgreSQL has a
    unique index on lower(email) (feeds.store.mailing.find_subscriber does the same)."""
    return "lower(email) = lower(?)" if is_pg(conn) else "email = ?"


def find_by_unsubscribe_token(conn: Conn, token: str) -> Person | None:
    """The holder of an unsubscribe token: the index narrows by its first 8 characters, the
    whole token is compared in constant time (no timing oracle on the secret part)."""
    if len(token) < 16:
        return None
    found = None
    for row in conn.execute(
        f"SELECT {_PERSON} FROM subscribers WHERE substr(token, 1, 8) = ?", (token[:8],)
    ):
        if hmac.compare_digest(str(row[3]).encode(), token.encode()):
            found = Person(*row)
    return found


def hit_rate(conn: Conn, bucket: str, now: datetime, limit: int) -> bool:
    """Count one event in this hour's window; False when the bucket is over its limit."""
    window = now.astimezone(UTC).strftime("%Y-%m-%dT%H")
    conn.execute(
        "DELETE FROM rate_limits WHERE hour < ?",
        ((now - timedelta(hours=2)).astimezone(UTC).strftime("%Y-%m-%dT%H"),),
    )
    row = conn.execute(
        "INSERT INTO rate_limits (bucket, hour, count) VALUES (?, ?, 1)"
        " ON CONFLICT (bucket, hour) DO UPDATE SET count = rate_limits.count + 1 RETURNING count",
        (bucket, window),
    ).fetchone()
    return int(row[0]) <= limit


def sign_up(conn: Conn, email: str, name: str, client: str, now: datetime) -> SignUp:
    """Record a sign-up; queue one confirmation mail unless one was queued within the hour.

    What happened is for tests and debug logs only: the reader always sees the same page.
    An unsubscribed or disabled address becomes active again only through the link.
    """
    stamp = utc_text(now)
    known = find_person(conn, email)
    if known is None:
        (new_id,) = conn.execute(
            "INSERT INTO subscribers (email, name, token, added_at, status, source, signup_at,"
            " signup_client, confirm_mail_at) VALUES (?, ?, ?, ?, 'pending', 'web', ?, ?, ?)"
            " RETURNING id",  # both backends (SQLite >= 3.35); PostgreSQL has no lastrowid
            (email, name, new_token(), stamp, stamp, client, stamp),
        ).fetchone()
        _queue_confirmation(conn, int(new_id), now)
        return "new"
    if known.status == "active":
        return "active"
    (last,) = conn.execute(
        "SELECT confirm_mail_at FROM subscribers WHERE id = ?", (known.id,)
    ).fetchone()
    if last is not None and last > utc_text(now - CONFIRM_MAIL_EVERY):
        return "throttled"
    conn.execute(
        "UPDATE subscribers SET signup_at = ?, signup_client = ?, confirm_mail_at = ?,"
        " name = CASE WHEN ? = '' THEN name ELSE ? END WHERE id = ?",
        (stamp, client, stamp, name, name, known.id),
    )
    _queue_confirmation(conn, known.id, now)
    return "resent"


def _queue_confirmation(conn: Conn, subscriber_id: int, now: datetime) -> None:
    token = new_token()
    stamp = utc_text(now)
    conn.execute(
        "INSERT INTO confirm_tokens (digest, subscriber_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        (token_digest(token), subscriber_id, stamp, utc_text(now + CONFIRM_VALID)),
    )
    # The raw token waits here only until the mail is final (then NULL).
    conn.execute(
        "INSERT INTO outbox (kind, subscriber_id, secret, created_at, updated_at)"
        " VALUES ('confirm', ?, ?, ?, ?)",
        (subscriber_id, token, stamp, stamp),
    )


def check_confirm_token(conn: Conn, token: str, now: datetime) -> int | None:
    """The subscriber a valid, unexpired confirmation token belongs to."""
    digest = token_digest(token)
    row = conn.execute(
        "SELECT digest, subscriber_id FROM confirm_tokens WHERE digest = ? AND expires_at > ?",
        (digest, utc_text(now)),
    ).fetchone()
    if row is None or not hmac.compare_digest(str(row[0]), digest):
        return None
    return int(row[1])


def confirm(conn: Conn, token: str, client: str, now: datetime) -> Person | None:
    """Make the token's subscriber active (a fresh unsubscribe token if it had left)."""
    subscriber_id = check_confirm_token(conn, token, now)
    if subscriber_id is None:
        return None
    stamp = utc_text(now)
    conn.execute(
        "UPDATE subscribers SET status = 'active', removed_at = NULL, disabled_at = NULL,"
        " disabled_reason = '', confirmed_at = ?, confirm_client = ?, added_at = ?,"
        " confirm_mail_at = NULL, token = CASE WHEN status = 'pending' THEN token ELSE ? END"
        " WHERE id = ?",
        (stamp, client, stamp, new_token(), subscriber_id),
    )
    conn.execute("DELETE FROM confirm_tokens WHERE subscriber_id = ?", (subscriber_id,))
    conn.execute("DELETE FROM soft_bounces WHERE subscriber_id = ?", (subscriber_id,))
    row = conn.execute(f"SELECT {_PERSON} FROM subscribers WHERE id = ?", (subscriber_id,))
    return Person(*row.fetchone())


def set_status(
    conn: Conn,
    subscriber_id: int,
    status: Literal["unsubscribed", "disabled"],
    now: datetime,
    reason: str = "",
) -> bool:
    """Unsubscribe or disable, cancelling mail not yet sent; False when nothing changed."""
    stamp = utc_text(now)
    if status == "unsubscribed":
        cursor = conn.execute(
            "UPDATE subscribers SET status = 'unsubscribed', removed_at = ?"
            " WHERE id = ? AND status IN ('active', 'pending', 'disabled')",
            (stamp, subscriber_id),
        )
    else:
        cursor = conn.execute(
            "UPDATE subscribers SET status = 'disabled', disabled_at = ?, disabled_reason = ?"
            " WHERE id = ? AND status IN ('active', 'pending')",
            (stamp, reason, subscriber_id),
        )
    if cursor.rowcount:
        conn.execute(
            "UPDATE deliveries SET state = 'cancelled', updated_at = ? WHERE subscriber_id = ?"
            " AND state IN ('pending', 'sending', 'temp_fail')",
            (stamp, subscriber_id),
        )
        conn.execute(
            "UPDATE outbox SET state = 'cancelled', secret = NULL, updated_at = ?"
            " WHERE subscriber_id = ? AND state IN ('pending', 'temp_fail')",
            (stamp, subscriber_id),
        )
    return bool(cursor.rowcount)


def activate(conn: Conn, subscriber_id: int) -> None:
    """The owner's `subscribers add` of a pending or disabled address: active at once."""
    conn.execute(
        "UPDATE subscribers SET status = 'active', removed_at = NULL, disabled_at = NULL,"
        " disabled_reason = '' WHERE id = ?",
        (subscriber_id,),
    )


def status_of(conn: Conn, subscriber_id: int) -> Status:
    """A subscriber's status."""
    return conn.execute(  # type: ignore[no-any-return]
        "SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)
    ).fetchone()[0]


def all_people(conn: Conn) -> list[Person]:
    """Every subscriber, any status, in the order they were added."""
    return [Person(*row) for row in conn.execute(f"SELECT {_PERSON} FROM subscribers ORDER BY id")]


# -- bounces ----------------------------------------------------------------------------------


def subscriber_token(conn: Conn, subscriber_id: int) -> str | None:
    """A subscriber's unsubscribe token (to re-verify a Message-ID key found in a bounce)."""
    row = conn.execute("SELECT token FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
    return None if row is None else str(row[0])


def soft_bounce(
    conn: Conn, subscriber_id: int, week: str, status: str, now: datetime
) -> bool:
    """Count a soft bounce once per digest; True when this one disabled the address."""
    conn.execute(
        "INSERT INTO soft_bounces (subscriber_id, week, status, at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (subscriber_id, week, status, utc_text(now)),
    )
    (weeks,) = conn.execute(
        "SELECT COUNT(*) FROM soft_bounces WHERE subscriber_id = ?", (subscriber_id,)
    ).fetchone()
    if int(weeks) >= SOFT_BOUNCE_LIMIT:
        return set_status(conn, subscriber_id, "disabled", now, f"soft bounces in {weeks} digests")
    return False


def was_processed(conn: Conn, key: str) -> bool:
    """Whether an incoming message was handled on an earlier run."""
    row = conn.execute("SELECT 1 FROM processed_mail WHERE key = ?", (key,)).fetchone()
    return row is not None


def mark_processed(conn: Conn, key: str, outcome: str, now: datetime) -> None:
    """Remember an incoming message as handled (in the transaction that acted on it)."""
    conn.execute(
        "INSERT INTO processed_mail (key, handled_at, outcome) VALUES (?, ?, ?)",
        (key, utc_text(now), outcome),
    )


# -- the outbox of confirmation mails -----------------------------------------------------------


@dataclass(frozen=True)
class OutMail:
    """One queued confirmation mail."""

    id: int
    secret: str
    email: str
    name: str
    state: DeliveryState
    attempts: int
    first_attempt: str | None


def due_mail(conn: Conn, now: datetime, limit: int = 200) -> list[OutMail]:
    """Confirmation mails to try now: pending, in doubt, or retries whose time came."""
    rows = conn.execute(
        "SELECT o.id, o.secret, s.email, s.name, o.state, o.attempts, o.first_attempt"
        " FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id"
        " WHERE o.secret IS NOT NULL AND (o.state IN ('pending', 'sending')"
        " OR (o.state = 'temp_fail' AND o.next_attempt <= ?)) ORDER BY o.id LIMIT ?",
        (utc_text(now), limit),
    ).fetchall()
    return [OutMail(*row) for row in rows]


def claim_mail(conn: Conn, mail_id: int, now: datetime) -> bool:
    """pending/temp_fail/sending -> sending; False when another sender finished it first."""
    stamp = utc_text(now)
    cursor = conn.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1,"
        " first_attempt = COALESCE(first_attempt, ?), updated_at = ?"
        " WHERE id = ? AND state IN ('pending', 'temp_fail', 'sending')",
        (stamp, stamp, mail_id),
    )
    return cursor.rowcount == 1


def mail_result(
    conn: Conn,
    mail_id: int,
    state: DeliveryState,
    now: datetime,
    error: str = "",
    next_attempt: datetime | None = None,
) -> None:
    """Record how an attempt ended; a final state forgets the raw token."""
    conn.execute(
        "UPDATE outbox SET state = ?, last_error = ?, next_attempt = ?, updated_at = ?,"
        " secret = CASE WHEN ? IN ('sent', 'perm_fail', 'cancelled') THEN NULL ELSE secret END"
        " WHERE id = ?",
        (
            state,
            error,
            utc_text(next_attempt) if next_attempt else None,
            utc_text(now),
            state,
            mail_id,
        ),
    )


def count_mail(conn: Conn) -> dict[str, int]:
    """How many queued confirmation mails are in each state."""
    return {
        str(state): int(n)
        for state, n in conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
    }


# -- access and erasure -----------------------------------------------------------------------


def export(conn: Conn, email: str) -> dict[str, Any] | None:
    """Everything stored about one address (the unsubscribe token left out), or None."""

    def rows(sql: str, key: Any) -> list[dict[str, Any]]:
        cursor = conn.execute(sql, (key,))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    found = rows(f"SELECT * FROM subscribers WHERE {_email_match(conn)}", email)
    if not found:
        return None
    person = found[0]
    sid = person["id"]
    return {
        "subscriber": {k: v for k, v in person.items() if k != "token"},
        "deliveries": rows(
            "SELECT week, state, attempts, last_error, first_attempt, updated_at"
            " FROM deliveries WHERE subscriber_id = ? ORDER BY week",
            sid,
        ),
        "confirmation_mails": rows(
            "SELECT kind, state, attempts, created_at, updated_at FROM outbox"
            " WHERE subscriber_id = ? ORDER BY id",
            sid,
        ),
        "confirmation_links": rows(
            "SELECT created_at, expires_at FROM confirm_tokens WHERE subscriber_id = ?", sid
        ),
        "soft_bounces": rows(
            "SELECT week, status, at FROM soft_bounces WHERE subscriber_id = ? ORDER BY week",
            sid,
        ),
    }


def forget(conn: Conn, email: str) -> bool:
    """Erase one address and everything tied to it; False when it is unknown."""
    known = find_person(conn, email)
    if known is None:
        return False
    conn.execute("DELETE FROM deliveries WHERE subscriber_id = ?", (known.id,))
    for table in ("confirm_tokens", "outbox", "soft_bounces"):
        conn.execute(f"DELETE FROM {table} WHERE subscriber_id = ?", (known.id,))
    conn.execute("DELETE FROM subscribers WHERE id = ?", (known.id,))
    return True
