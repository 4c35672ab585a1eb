"""Mail-side state: subscribers, digests with the articles they hold, and deliveries.

Every time is stored as fixed-width UTC text (see `utc_text`) so that SQL compares it in order.
Each function runs inside the caller's transaction unless its docstring says it commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from feeds.store.backend import Conn, is_pg

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


def find_subscriber(conn: Conn, email: str) -> Subscriber | None:
    """The subscriber with this address (case-insensitive), removed or not."""
    # SQLite: the column is COLLATE NOCASE; PostgreSQL: a unique index on lower(email)
    match = "lower(email) = lower(?)" if is_pg(conn) else "email = ?"
    row = conn.execute(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE {match}", (email,)
    ).fetchone()
    return None if row is None else Subscriber(*row)


def find_by_token(conn: Conn, token: str) -> Subscriber | None:
    """The subscriber holding this unsubscribe token."""
    row = conn.execute(
        f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE token = ?", (token,)
    ).fetchone()
    return None if row is None else Subscriber(*row)


def insert_subscriber(
    conn: Conn, email: str, name: str, token: str, now: datetime
) -> None:
    """Add a new address."""
    conn.execute(
        "INSERT INTO subscribers (email, name, token, added_at) VALUES (?, ?, ?, ?)",
        (email, name, token, utc_text(now)),
    )


def reactivate_subscriber(
    conn: Conn, subscriber_id: int, name: str, token: str, now: datetime
) -> None:
    """Subscribe a removed address again, with a fresh token."""
    conn.execute(
        "UPDATE subscribers SET removed_at = NULL, status = 'active', added_at = ?, token = ?,"
        " name = CASE WHEN ? = '' THEN name ELSE ? END WHERE id = ?",
        (utc_text(now), token, name, name, subscriber_id),
    )


def update_name(conn: Conn, subscriber_id: int, name: str) -> None:
    """Set a subscriber's display name."""
    conn.execute("UPDATE subscribers SET name = ? WHERE id = ?", (name, subscriber_id))


def remove_subscriber(conn: Conn, subscriber_id: int, now: datetime) -> None:
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


def list_subscribers(conn: Conn) -> list[Subscriber]:
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


def get_digest(conn: Conn, week: str) -> DigestRow | None:
    """The digest named week, if it was created."""
    row = conn.execute(f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE week = ?", (week,)).fetchone()
    return None if row is None else _digest(row)


def latest_digest_before(conn: Conn, slot: datetime) -> DigestRow | None:
    """The digest with the latest slot earlier than `slot`."""
    row = conn.execute(
        f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE slot < ? ORDER BY slot DESC LIMIT 1",
        (utc_text(slot),),
    ).fetchone()
    return None if row is None else _digest(row)


def has_digest_after(conn: Conn, slot: datetime) -> bool:
    """Whether a digest for a later slot exists (an older slot is then never created)."""
    row = conn.execute("SELECT 1 FROM digests WHERE slot > ? LIMIT 1", (utc_text(slot),))
    return row.fetchone() is not None


def list_digests(conn: Conn) -> list[tuple[str, str, str, int, str]]:
    """(week, slot, start, articles, heading) of every digest, newest first."""
    return [
        (str(w), str(s), str(st), int(n), str(h))
        for w, s, st, n, h in conn.execute(
            "SELECT week, slot, start, articles, heading FROM digests ORDER BY slot DESC"
        )
    ]


def candidate_articles(
    conn: Conn, start: datetime, slot: datetime, late_after: datetime | None
) -> list[tuple[str, str, str]]:
    """(article_id, date, first_seen) of published articles in no digest that may belong here.

    A coarse filter (julianday, a second of slack either side); the caller decides exactly.
    """
    if is_pg(conn):
        return _pg_candidates(conn, start, slot, late_after)
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


def _pg_candidates(
    conn: Conn, start: datetime, slot: datetime, late_after: datetime | None
) -> list[tuple[str, str, str]]:
    """candidate_articles on PostgreSQL: the stored ISO texts read as timestamptz."""
    late = "p.first_seen::timestamptz >= ?::timestamptz - interval '1 second'"
    rows = conn.execute(
        "SELECT p.article_id, p.date, p.first_seen FROM published p"
        " WHERE NOT EXISTS (SELECT 1 FROM digest_articles a WHERE a.article_id = p.article_id)"
        " AND p.date::timestamptz <= ?::timestamptz + interval '1 second'"
        " AND (p.date::timestamptz >= ?::timestamptz - interval '1 second'"
        f" OR {late if late_after else 'false'})",
        (slot.isoformat(), start.isoformat(), *([late_after.isoformat()] if late_after else [])),
    ).fetchall()
    return [(str(a), str(d), str(f)) for a, d, f in rows]


def insert_digest(conn: Conn, digest: DigestRow, article_ids: Sequence[str]) -> None:
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


def digest_article_ids(conn: Conn, week: str) -> list[str]:
    """The articles a digest holds, in its order."""
    return [
        str(aid)
        for (aid,) in conn.execute(
            "SELECT article_id FROM digest_articles WHERE week = ? ORDER BY position", (week,)
        )
    ]


def queue_digest(conn: Conn, week: str, now: datetime) -> int:
    """Create a pending delivery for every active subscriber; the audience is fixed now."""
    cursor = conn.execute(
        "INSERT INTO deliveries (week, subscriber_id, state, updated_at)"
        " SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'"
        " ON CONFLICT DO NOTHING",
        (week, utc_text(now)),
    )
    conn.execute("UPDATE digests SET queued_at = ? WHERE week = ?", (utc_text(now), week))
    return cursor.rowcount


def open_weeks(conn: Conn) -> list[str]:
    """Queued digests that still have deliveries to finish, oldest first."""
    return [
        str(w)
        for (w,) in conn.execute(
            "SELECT week FROM digests WHERE queued_at IS NOT NULL AND done = 0 ORDER BY slot"
        )
    ]


def close_finished(conn: Conn, weeks: Iterable[str]) -> None:
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


def due_deliveries(conn: Conn, week: str, now: datetime) -> list[Delivery]:
    """Deliveries of a digest to try now: pending, in doubt, or retries whose time came."""
    return _deliveries(
        conn,
        week,
        "(d.state IN ('pending', 'sending') OR (d.state = 'temp_fail' AND d.next_attempt <= ?))",
        [utc_text(now)],
    )


def _deliveries(conn: Conn, week: str, where: str, params: list[object]) -> list[Delivery]:
    rows = conn.execute(
        "SELECT d.week, d.state, d.attempts, d.last_error, d.next_attempt, d.first_attempt,"
        f" {', '.join('s.' + c.strip() for c in _SUBSCRIBER_COLUMNS.split(','))}"
        " FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id"
        f" WHERE d.week = ? AND {where} ORDER BY d.subscriber_id",
        (week, *params),
    ).fetchall()
    return [
        Delivery(w, Subscriber(*rest), state, attempts, error, nxt, first)
        for w, state, attempts, error, nxt, first, *rest in rows
    ]


def claim_deliveries(
    conn: Conn, week: str, now: datetime, limit: int = 50
) -> list[Delivery]:
    """PostgreSQL, several workers: take up to `limit` due deliveries no live session holds.

    Commits at once. A row is held by the session whose backend pid is in claimed_by while
    that session lives; concurrent claimers skip each other's locked rows (SKIP LOCKED) and
    never share one. A killed worker's rows (its pid gone) are taken over, `sending` ones
    included: that one message is in doubt, as after a crash with SQLite.
    """
    rows = conn.execute(
        "WITH live AS (SELECT pid FROM pg_stat_activity),"
        " due AS (SELECT d.week, d.subscriber_id FROM deliveries d"
        " WHERE d.week = ? AND (d.state IN ('pending', 'sending')"
        " OR (d.state = 'temp_fail' AND d.next_attempt <= ?))"
        " AND (d.claimed_by IS NULL OR d.claimed_by = pg_backend_pid()"
        " OR d.claimed_by NOT IN (SELECT pid FROM live))"
        " ORDER BY d.subscriber_id LIMIT ? FOR UPDATE SKIP LOCKED)"
        " UPDATE deliveries d SET claimed_by = pg_backend_pid() FROM due"
        " WHERE d.week = due.week AND d.subscriber_id = due.subscriber_id"
        " RETURNING d.subscriber_id",
        (week, utc_text(now), limit),
    ).fetchall()
    if not rows:
        return []
    ids = sorted(int(i) for (i,) in rows)
    return [d for d in _deliveries(conn, week, "d.subscriber_id = ANY(?)", [ids])]


def mark_sending_claimed(conn: Conn, week: str, subscriber_id: int, now: datetime) -> bool:
    """mark_sending fenced by our claim: False when another worker took the row over."""
    stamp = utc_text(now)
    cursor = conn.execute(
        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
        " first_attempt = COALESCE(first_attempt, ?), updated_at = ?"
        " WHERE week = ? AND subscriber_id = ? AND claimed_by = pg_backend_pid()"
        " AND state IN ('pending', 'sending', 'temp_fail')",
        (stamp, stamp, week, subscriber_id),
    )
    return int(cursor.rowcount) == 1


def open_deliveries(conn: Conn, week: str) -> int:
    """How many deliveries of the digest are not final yet."""
    row = conn.execute(
        "SELECT COUNT(*) FROM deliveries WHERE week = ?"
        " AND state NOT IN ('sent', 'perm_fail', 'cancelled')",
        (week,),
    ).fetchone()
    return int(row[0])


def count_states(conn: Conn, weeks: Sequence[str]) -> dict[str, int]:
    """How many deliveries of these digests are in each state."""
    counts: dict[str, int] = {}
    for week in weeks:
        for state, count in conn.execute(
            "SELECT state, COUNT(*) FROM deliveries WHERE week = ? GROUP BY state", (week,)
        ):
            counts[str(state)] = counts.get(str(state), 0) + int(count)
    return counts


def mark_sending(conn: Conn, week: str, subscriber_id: int, now: datetime) -> None:
    """Commit that a message is about to go: after a crash this row is the one in doubt."""
    stamp = utc_text(now)
    conn.execute(
        "UPDATE deliveries SET state = 'sending', attempts = attempts + 1,"
        " first_attempt = COALESCE(first_attempt, ?), updated_at = ?"
        " WHERE week = ? AND subscriber_id = ?",
        (stamp, stamp, week, subscriber_id),
    )


def mark_result(
    conn: Conn,
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


def delivery_state(conn: Conn, week: str, subscriber_id: int) -> DeliveryState | None:
    """The current state of one delivery (None when there is no such row)."""
    row = conn.execute(
        "SELECT state FROM deliveries WHERE week = ? AND subscriber_id = ?", (week, subscriber_id)
    ).fetchone()
    return None if row is None else row[0]
