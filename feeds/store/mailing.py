"""Mail-side state: subscribers, digests with the articles they hold, and deliveries.

Every time is stored as fixed-width UTC text (see `utc_text`) so that SQL compares it in order.
Each function runs inside the caller's transaction unless its docstring says it commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

DeliveryState = Literal["pending", "sending", "sent", "temp_fail", "perm_fail", "cancelled"]
FINAL_STATES: tuple[DeliveryState, ...] = ("sent", "perm_fail", "cancelled")


def utc_text(moment: datetime) -> str:
    """An aware datetime as fixed-width UTC text that sorts in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """The inverse of utc_text (also reads any ISO text with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- subscribers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscriber:
    """One address on the list; removed_at is set once it unsubscribed."""

    id: int
    email: str
    name: str
    token: str
    added_at: str
    removed_at: str | None = None

    @property
    def active(self) -> bool:
        """Whether the subscriber still gets the digest."""
        return self.removed_at is None


_SUBSCRIBER_COLUMNS = "id, email, name, token, added_at, removed_at"


def find_subscriber(conn: sqlite3.Connection, email: str) -> Subscriber | None:
    """The subscriber with this address (case-insensitive), removed or not."""
    row = conn.execute(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE email = ?", (email,)
    ).fetchone()
    return None if row is None else Subscriber(*row)


def find_by_token(conn: sqlite3.Connection, token: str) -> Subscriber | None:
    """The subscriber holding this unsubscribe token."""
    row = conn.execute(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE token = ?", (token,)
    ).fetchone()
    return None if row is None else Subscriber(*row)


def insert_subscriber(
    conn: sqlite3.Connection, email: str, name: str, token: str, now: datetime
) -> None:
    """Add a new address."""
    conn.execute(
        "INSERT INTO subscribers (email, name, token, added_at) VALUES (?, ?, ?, ?)",
        (email, name, token, utc_text(now)),
    )


def reactivate_subscriber(
    conn: sqlite3.Connection, subscriber_id: int, name: str, token: str, now: datetime
) -> None:
    """Subscribe a removed address again, with a fresh token."""
    conn.execute(
        "UPDATE subscribers SET removed_at = NULL, status = 'active', added_at = ?, token = ?,"
        " name = CASE WHEN ? = '' THEN name ELSE ? END WHERE id = ?",
        (utc_text(now), token, name, name, subscriber_id),
    )


def update_name(conn: sqlite3.Connection, subscriber_id: int, name: str) -> None:
    """Set a subscriber's display name."""
    conn.execute("UPDATE subscribers SET name = ? WHERE id = ?", (name, subscriber_id))


def remove_subscriber(conn: sqlite3.Connection, subscriber_id: int, now: datetime) -> None:
    """Mark a subscriber removed; mail not yet sent to it is cancelled."""
    conn.execute(
        "UPDATE subscribers SET removed_at = ?, status = 'unsubscribed'"
        " WHERE id = ? AND removed_at IS NULL",
        (utc_text(now), subscriber_id),
    )
    conn.execute(
        "UPDATE deliveries SET state = 'cancelled', updated_at = ?"
        " WHERE subscriber_id = ? AND state IN ('pending', 'sending', 'temp_fail')",
        (utc_text(now), subscriber_id),
    )


def list_subscribers(conn: sqlite3.Connection) -> list[Subscriber]:
    """Active subscribers in the order they were added."""
    rows = conn.execute(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE status = 'active' ORDER BY id"
    ).fetchall()
    return [Subscriber(*row) for row in rows]


# -- digests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRow:
    """A created digest: its window, rendered parts and delivery progress."""

    week: str
    slot: str
    start: str
    created_at: str
    queued_at: str | None
    done: bool
    articles: int
    heading: str
    subject: str
    marker: str
    web_html: str
    mail_html: str
    mail_text: str


_DIGEST_COLUMNS = (
    "week, slot, start, created_at, queued_at, done, articles, heading, subject, marker,"
    " web_html, mail_html, mail_text"
)


def _digest(row: Sequence[object]) -> DigestRow:
    values = list(row)
    values[5] = bool(values[5])
    return DigestRow(*values)  # type: ignore[arg-type]


def get_digest(conn: sqlite3.Connection, week: str) -> DigestRow | None:
    """The digest named week, if it was created."""
    row = conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE week = ?", (week,)).fetchone()
    return None if row is None else _digest(row)


def latest_digest_before(conn: sqlite3.Connection, slot: datetime) -> DigestRow | None:
    """The digest with the latest slot earlier than `slot`."""
    row = conn.execute(
        f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE slot < ? ORDER BY slot DESC LIMIT 1",
        (utc_text(slot),),
    ).fetchone()
    return None if row is None else _digest(row)


def has_digest_after(conn: sqlite3.Connection, slot: datetime) -> bool:
    """Whether a digest for a later slot exists (an older slot is then never created)."""
    row = conn.execute("SELECT 1 FROM digests WHERE slot > ? LIMIT 1", (utc_text(slot),))
    return row.fetchone() is not None


def list_digests(conn: sqlite3.Connection) -> list[tuple[str, str, str, int, str]]:
    """(week, slot, start, articles, heading) of every digest, newest first."""
    return [
        (str(w), str(s), str(st), int(n), str(h))
        for w, s, st, n, h in conn.execute(
            "SELECT week, slot, start, articles, heading FROM digests ORDER BY slot DESC"
        )
    ]


def candidate_articles(
    conn: sqlite3.Connection, start: datetime, slot: datetime, late_after: datetime | None
) -> list[tuple[str, str, str]]:
    """(article_id, date, first_seen) of published articles in no digest that may belong here.

    A coarse filter (julianday, a second of slack either side); the caller decides exactly.
    """
    late = "julianday(p.first_seen) >= julianday(:late) - 1.0 / 86400" if late_after else "0"
    return conn.execute(
        "SELECT p.article_id, p.date, p.first_seen FROM published p"
        " WHERE p.article_id NOT IN (SELECT article_id FROM digest_articles)"
        " AND julianday(p.date) <= julianday(:slot) + 1.0 / 86400"
        f" AND (julianday(p.date) >= julianday(:start) - 1.0 / 86400 OR {late})",
        {
            "slot": slot.isoformat(),
            "start": start.isoformat(),
            "late": late_after.isoformat() if late_after else None,
        },
    ).fetchall()


def insert_digest(conn: sqlite3.Connection, digest: DigestRow, article_ids: Sequence[str]) -> None:
    """Record a new digest and the articles it holds, in order."""
    conn.execute(
        f"INSERT INTO digests ({_DIGEST_COLUMNS}) VALUES ({', '.join('?' * 13)})",
        (
            digest.week,
            digest.slot,
            digest.start,
            digest.created_at,
            digest.queued_at,
            int(digest.done),
            digest.articles,
            digest.heading,
            digest.subject,
            digest.marker,
            digest.web_html,
            digest.mail_html,
            digest.mail_text,
        ),
    )
    conn.executemany(
        "INSERT INTO digest_articles (article_id, week, position) VALUES (?, ?, ?)",
        ((aid, digest.week, position) for position, aid in enumerate(article_ids)),
    )


def digest_article_ids(conn: sqlite3.Connection, week: str) -> list[str]:
    """The articles a digest holds, in its order."""
    return [
        str(aid)
        for (aid,) in conn.execute(
            "SELECT article_id FROM digest_articles WHERE week = ? ORDER BY position", (week,)
        )
    ]


def queue_digest(conn: sqlite3.Connection, week: str, now: datetime) -> int:
    """Create a pending delivery for every active subscriber; the audience is fixed now."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO deliveries (week, subscriber_id, state, updated_at)"
        " SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'",
        (week, utc_text(now)),
    )
    conn.execute("UPDATE digests SET queued_at = ? WHERE week = ?", (utc_text(now), week))
    return cursor.rowcount


def open_weeks(conn: sqlite3.Connection) -> list[str]:
    """Queued digests that still have deliveries to finish, oldest first."""
    return [
        str(w)
        for (w,) in conn.execute(
            "SELECT week FROM digests WHERE queued_at IS NOT NULL AND done = 0 ORDER BY slot"
        )
    ]


def close_finished(conn: sqlite3.Connection, weeks: Iterable[str]) -> None:
    """Mark digests done once none of their deliveries can change any more."""
    conn.executemany(
        "UPDATE digests SET done = 1 WHERE week = ? AND NOT EXISTS ("
        " SELECT 1 FROM deliveries d WHERE d.week = digests.week"
        " AND d.state NOT IN ('sent', 'perm_fail', 'cancelled'))",
        ((w,) for w in weeks),
    )


# -- deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One message of one digest to one subscriber, and how far it got."""

    week: str
    subscriber: Subscriber
    state: DeliveryState
    attempts: int
    last_error: str
    next_attempt: str | None
    first_attempt: str | None


def due_deliveries(conn: sqlite3.Connection, week: str, now: datetime) -> list[Delivery]:
    """Deliveries of a digest to try now: pending, in doubt, or retries whose time came."""
    rows = conn.execute(
        "SELECT d.week, d.state, d.attempts, d.last_error, d.next_attempt, d.first_attempt,"
        f" {', '.join('s.' + c.strip() for c in _SUBSCRIBER_COLUMNS.split(','))}"
        " FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
        " WHERE d.week = ? AND (d.state IN ('pending', 'sending')"
        " OR (d.state = 'temp_fail' AND d.next_attempt <= ?))"
        " ORDER BY d.subscriber_id",
        (week, utc_text(now)),
    ).fetchall()
    return [
        Delivery(w, Subscriber(*rest), state, attempts, error, nxt, first)
        for w, state, attempts, error, nxt, first, *rest in rows
    ]


def count_states(conn: sqlite3.Connection, weeks: Sequence[str]) -> dict[str, int]:
    """How many deliveries of these digests are in each state."""
    counts: dict[str, int] = {}
    for week in weeks:
        for state, count in conn.execute(
            "SELECT state, COUNT(*) FROM deliveries WHERE week = ? GROUP BY state", (week,)
        ):
            counts[str(state)] = counts.get(str(state), 0) + int(count)
    return counts


def mark_sending(conn: sqlite3.Connection, week: str, subscriber_id: int, now: datetime) -> None:
    """Commit that a message is about to go: after a crash this row is the one in doubt."""
    stamp = utc_text(now)
    conn.execute(
        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
        " first_attempt = COALESCE(first_attempt, ?), updated_at = ?"
        " WHERE week = ? AND subscriber_id = ?",
        (stamp, stamp, week, subscriber_id),
    )


def mark_result(
    conn: sqlite3.Connection,
    week: str,
    subscriber_id: int,
    state: DeliveryState,
    now: datetime,
    error: str = "",
    next_attempt: datetime | None = None,
) -> None:
    """Record how an attempt ended."""
    conn.execute(
        "UPDATE deliveries SET state = ?, last_error = ?, next_attempt = ?, updated_at = ?"
        " WHERE week = ? AND subscriber_id = ?",
        (
            state,
            error,
            utc_text(next_attempt) if next_attempt else None,
            utc_text(now),
            week,
            subscriber_id,
        ),
    )


def delivery_state(conn: sqlite3.Connection, week: str, subscriber_id: int) -> DeliveryState | None:
    """The current state of one delivery (None when there is no such row)."""
    row = conn.execute(
        "SELECT state FROM deliveries WHERE week = ? AND subscriber_id = ?", (week, subscriber_id)
    ).fetchone()
    return None if row is None else row[0]
