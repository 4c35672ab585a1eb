"""Opening the state database (WAL) and bringing its schema up to date."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from feeds.config import Config
from feeds.errors import StateError
from feeds.store.backend import BUILD_LOCK_NS, Conn, PgConnection, pg_connect, pg_ddl
from feeds.store.lock import LOCK_NAME, LockHolder, locked, pg_locked

DB_NAME = "feeds.sqlite3"

SNAPSHOT_GLOB = "snapshot-*.bin"  # feeds.store.snapshot writes these after a build

# Each entry moves the schema one version up; never edit an entry once released.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE seeds (
        rel TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        article TEXT,
        body TEXT,
        error TEXT
    );
    CREATE TABLE slugs (article_id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE);
    CREATE TABLE published (
        article_id TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        date TEXT NOT NULL
    );
    CREATE TABLE outputs (path TEXT PRIMARY KEY, key TEXT NOT NULL);
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name TEXT NOT NULL DEFAULT '',
        token TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL,
        removed_at TEXT
    );
    CREATE TABLE digests (
        week TEXT PRIMARY KEY,
        slot TEXT NOT NULL,
        start TEXT NOT NULL,
        created_at TEXT NOT NULL,
        queued_at TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        articles INTEGER NOT NULL,
        heading TEXT NOT NULL,
        subject TEXT NOT NULL,
        marker TEXT NOT NULL,
        web_html TEXT NOT NULL,
        mail_html TEXT NOT NULL,
        mail_text TEXT NOT NULL
    );
    CREATE TABLE digest_articles (
        article_id TEXT PRIMARY KEY,
        week TEXT NOT NULL REFERENCES digests(week),
        position INTEGER NOT NULL
    );
    CREATE TABLE deliveries (
        week TEXT NOT NULL REFERENCES digests(week),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'temp_fail', 'perm_fail', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        next_attempt TEXT,
        first_attempt TEXT,
        updated_at TEXT,
        PRIMARY KEY (week, subscriber_id)
    );
    """,
    # 2: the readers' side (issue 17): status and proof of consent on subscribers, hashed
    # confirmation tokens, rate-limit windows, queued confirmation mails, bounces and the
    # mail already handled. Existing subscribers stay active (removed ones: unsubscribed).
    """
    ALTER TABLE subscribers ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('pending', 'active', 'unsubscribed', 'disabled'));
    ALTER TABLE subscribers ADD COLUMN source TEXT NOT NULL DEFAULT 'cli';
    ALTER TABLE subscribers ADD COLUMN signup_at TEXT;
    ALTER TABLE subscribers ADD COLUMN signup_client TEXT;
    ALTER TABLE subscribers ADD COLUMN confirmed_at TEXT;
    ALTER TABLE subscribers ADD COLUMN confirm_client TEXT;
    ALTER TABLE subscribers ADD COLUMN confirm_mail_at TEXT;
    ALTER TABLE subscribers ADD COLUMN disabled_at TEXT;
    ALTER TABLE subscribers ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
    UPDATE subscribers SET status = CASE WHEN removed_at IS NULL THEN 'active'
        ELSE 'unsubscribed' END;
    CREATE INDEX subscribers_status ON subscribers (status);
    CREATE INDEX subscribers_token_selector ON subscribers (substr(token, 1, 8));
    CREATE TABLE confirm_tokens (
        digest TEXT PRIMARY KEY,
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX confirm_tokens_subscriber ON confirm_tokens (subscriber_id);
    CREATE TABLE rate_limits (
        bucket TEXT NOT NULL,
        hour TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (bucket, hour)
    ) WITHOUT ROWID;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('confirm')),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        secret TEXT,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sending', 'sent', 'temp_fail', 'perm_fail', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        next_attempt TEXT,
        first_attempt TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox (state, next_attempt);
    CREATE TABLE soft_bounces (
        subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
        week TEXT NOT NULL,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, week)
    ) WITHOUT ROWID;
    CREATE TABLE processed_mail (
        key TEXT PRIMARY KEY,
        handled_at TEXT NOT NULL,
        outcome TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)


# What PostgreSQL needs beyond migration N's own text (run through backend.pg_ddl) to behave
# as SQLite does by itself: an insertion order (SQLite's rowid), case-insensitive unique
# e-mail (COLLATE NOCASE), and which session claimed a delivery (SQLite has one sender).
PG_STEPS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE published ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY",
        "CREATE UNIQUE INDEX published_seq ON published (seq)",
        "CREATE UNIQUE INDEX subscribers_email_lower ON subscribers (lower(email))",
        "ALTER TABLE deliveries ADD COLUMN claimed_by BIGINT",
        "CREATE INDEX deliveries_due ON deliveries (week, state, subscriber_id)",
    ),
}


def open_state(config: Config) -> Conn:
    """The state database the config names: PostgreSQL at state.url, else SQLite."""
    if config.state.url:
        conn = pg_connect(config.state.url, config.state.password_env)
        try:
            migrate_pg(conn)
        except BaseException:
            conn.close()
            raise
        return conn
    return connect(config.paths.state)


def open_state_readonly(config: Config) -> Conn:
    """A read-only connection to the existing state (for worker processes)."""
    if config.state.url:
        return pg_connect(config.state.url, config.state.password_env, readonly=True)
    return open_readonly(config.paths.state)


@contextmanager
def locked_state(
    config: Config, wait: float, on_wait: Callable[[LockHolder | None], None] | None = None
) -> Iterator[Conn]:
    """The state lock held, and the state database open (closed on leaving).

    SQLite: the flock on paths.state/lock, then the connection. PostgreSQL: the connection,
    then an advisory lock on it, shared by every host using the same database.
    """
    if not config.state.url:
        with locked(config.paths.state, wait, on_wait):
            sqlite = connect(config.paths.state)
            try:
                yield sqlite
            finally:
                sqlite.close()
        return
    conn = open_state(config)
    try:
        assert isinstance(conn, PgConnection)
        with pg_locked(conn, wait, on_wait):
            yield conn
    finally:
        conn.close()


def migrate_pg(conn: PgConnection) -> None:
    """Bring a PostgreSQL schema up to date: the same MIGRATIONS, one transaction each run.

    Hosts starting together serialise on an advisory transaction lock and re-read the
    version under it (CREATE TABLE IF NOT EXISTS alone races).
    """
    if _pg_version(conn) >= len(MIGRATIONS):
        _refuse_newer(_pg_version(conn))
        return
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?, 0)", (BUILD_LOCK_NS,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        version = _pg_version(conn)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(pg_ddl(statement))
            for statement in PG_STEPS.get(number, ()):
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _pg_version(conn: PgConnection) -> int:
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def _refuse_newer(version: int) -> None:
    if version > len(MIGRATIONS):
        raise StateError(
            f"the state database has schema version {version}; this feeds knows"
            f" {len(MIGRATIONS)}: it was written by a newer feeds"
        )


def connect(state_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the state database in WAL mode with the current schema.

    A database that is empty or has no schema in a folder that was used before is refused:
    taking it for a new one would silently drop every subscriber and the delivery history.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / DB_NAME
    if not path.exists():
        if any(state_dir.glob(SNAPSHOT_GLOB)):
            raise StateError(_lost(path, "is missing"))
        _create(state_dir)
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        if _blank(conn) and _used_before(state_dir):
            raise StateError(_lost(path, "is empty"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _create(state_dir: Path) -> None:
    """A new database with the full schema, put in place whole (a crash leaves none, not half).

    Because a fresh database never appears without its schema, an empty one found later
    means something was lost, not that a first run was interrupted.
    """
    fd, temp = tempfile.mkstemp(prefix=".new-", suffix=".sqlite3", dir=state_dir)
    os.close(fd)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            migrate(conn)
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):  # another process made it first: keep theirs
            os.link(temp, state_dir / DB_NAME)
    finally:
        os.unlink(temp)


def _blank(conn: sqlite3.Connection) -> bool:
    """No schema at all: a zero-length file, or one whose tables are gone."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    tables = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    return version == 0 and tables == 0


def _used_before(state_dir: Path) -> bool:
    """A lock file or a build snapshot: some feeds command has used this folder."""
    return (state_dir / LOCK_NAME).exists() or any(state_dir.glob(SNAPSHOT_GLOB))


def _lost(path: Path, what: str) -> str:
    return (
        f"state database {path} {what} but the folder was used before (subscribers and the"
        " delivery history would be lost): restore it from the backup, or remove the folder"
        " to start afresh"
    )


def open_readonly(state_dir: Path) -> sqlite3.Connection:
    """A read-only connection to an existing state database (for worker processes)."""
    uri = (state_dir / DB_NAME).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=60)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's user_version, each atomically."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    _refuse_newer(version)
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


_TABLES = (  # in an order foreign keys accept
    "meta", "seeds", "slugs", "published", "outputs", "subscribers", "digests",
    "digest_articles", "deliveries",
)  # fmt: skip


def copy_to_sqlite(source: Conn, state_dir: Path) -> None:
    """Every row of a PostgreSQL state into a new SQLite state in state_dir (a scratch copy:
    what `--now` ahead may write must not reach the real state)."""
    target = connect(state_dir)
    try:
        target.execute("BEGIN IMMEDIATE")
        for table in _TABLES:
            columns = [str(r[1]) for r in target.execute(f"PRAGMA table_info({table})")]
            order = " ORDER BY seq" if table == "published" else ""  # keeps the rowid order
            rows = source.execute(f"SELECT {', '.join(columns)} FROM {table}{order}")
            marks = ", ".join("?" * len(columns))
            target.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        target.execute("COMMIT")
    finally:
        target.close()
