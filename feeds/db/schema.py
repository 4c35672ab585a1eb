"""Opening the state database (WAL) and bringing its schema up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

DB_NAME = "feeds.sqlite3"

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
)


def connect(state_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the state database in WAL mode with the current schema."""
    state_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(state_dir / DB_NAME, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    migrate(conn)
    return conn


def open_readonly(state_dir: Path) -> sqlite3.Connection:
    """A read-only connection to an existing state database (for worker processes)."""
    uri = (state_dir / DB_NAME).resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=60)


def migrate(conn: sqlite3.Connection) -> None:
    """Apply every migration newer than the database's user_version, each atomically."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
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
