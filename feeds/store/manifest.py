"""Build-side state: the seed manifest, permanent slugs, publication log, written outputs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple

from feeds.model import Article, Block
from feeds.store.backend import Conn, is_pg


class ManifestRow(NamedTuple):
    """What the last build knew of one seed file (a tuple: one is built per seed per build)."""

    rel: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    article: Article | None  # without its body (blocks=()); the body is stored apart
    error: str | None
    body: str | None = None  # the body as JSON (body_to_json), set only when freshly parsed


@contextmanager
def transaction(conn: Conn) -> Iterator[Conn]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    PostgreSQL: BEGIN (READ COMMITTED); builds are serialised by the build lock, and the
    mail side by row locks and unique constraints.
    """
    conn.execute("BEGIN" if is_pg(conn) else "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_meta(conn: Conn, key: str) -> str | None:
    """A value from the meta table."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: Conn, key: str, value: str) -> None:
    """Store a value in the meta table."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def forget_snapshot(conn: Conn) -> None:
    """Disown the snapshot (feeds.store.snapshot) before the manifest changes under it.

    The snapshot describes the manifest as the last complete build left it; a build
    killed after changing the manifest must not leave the next one trusting it. A build
    that completes records a new snapshot's token.
    """
    conn.execute("DELETE FROM meta WHERE key = 'snapshot_token'")


def article_to_json(article: Article) -> str:
    """Serialise an Article's metadata (not its body) for the manifest, as a JSON array.

    An array in field order loads faster than an object: this runs for every article
    of the archive on every build that has anything to do.
    """
    return json.dumps(
        [
            article.id,
            article.source,
            article.date.isoformat(),
            article.title,
            article.summary,
            article.author,
            article.tags,
            article.image,
            article.lang,
            article.slug_hint,
            article.draft,
            article.warnings,
            article.updated.isoformat() if article.updated else None,
            article.media,
        ],
        ensure_ascii=False,
    )


def article_from_json(text: str) -> Article:
    """The inverse of article_to_json."""
    fields = json.loads(text)
    aid, source, date, title, summary, author, tags, image, lang, slug_hint, draft = fields[:11]
    warnings, updated, media = fields[11:14] if len(fields) >= 14 else ((), None, ())
    return Article(
        aid,
        source,
        datetime.fromisoformat(date),
        title,
        summary,
        (),
        author,
        tuple(tags),
        image,
        lang,
        slug_hint,
        draft,
        tuple(warnings),
        datetime.fromisoformat(updated) if updated else None,
        tuple(media),
    )


def body_to_json(blocks: tuple[Block, ...]) -> str:
    """Serialise an article body."""
    return json.dumps([[b.kind, b.text] for b in blocks], ensure_ascii=False)


def load_body(conn: Conn, rel: str) -> tuple[Block, ...]:
    """The stored body of the seed at rel (empty when unknown)."""
    row = conn.execute("SELECT body FROM seeds WHERE rel = ?", (rel,)).fetchone()
    if row is None or row[0] is None:
        return ()
    return tuple(Block(kind, text) for kind, text in json.loads(row[0]))


def load_article(conn: Conn, rel: str) -> Article | None:
    """The stored metadata of the seed at rel (None when unknown or unreadable)."""
    row = conn.execute("SELECT article FROM seeds WHERE rel = ?", (rel,)).fetchone()
    if row is None or row[0] is None:
        return None
    return article_from_json(row[0])


def load_manifest(
    conn: Conn, rels: Iterable[str] | None = None
) -> dict[str, ManifestRow]:
    """Every seed the last build saw (or those at rels), by relative path."""
    query = "SELECT rel, size, mtime_ns, inode, sha256, article, error FROM seeds"
    if rels is None:
        rows = conn.execute(query).fetchall()
    elif is_pg(conn):  # one round trip, not one per seed
        rows = conn.execute(query + " WHERE rel = ANY(?)", (list(rels),)).fetchall()
    else:
        rows = [row for rel in rels for row in conn.execute(query + " WHERE rel = ?", (rel,))]
    return {
        rel: ManifestRow(
            rel, size, mtime, inode, sha, article_from_json(art) if art else None, error
        )
        for rel, size, mtime, inode, sha, art, error in rows
    }


def seed_paths(conn: Conn) -> list[str]:
    """The relative path of every seed the last build saw."""
    return [rel for (rel,) in conn.execute("SELECT rel FROM seeds")]


def save_manifest(
    conn: Conn, changed: Iterable[ManifestRow], removed: Iterable[str]
) -> None:
    """Upsert changed rows and forget removed seeds (inside the caller's transaction).

    A row without an article or error keeps the article and body already stored (same
    content, new stat).
    """
    conn.executemany("DELETE FROM seeds WHERE rel = ?", ((rel,) for rel in removed))
    conn.executemany(
        "INSERT INTO seeds (rel, size, mtime_ns, inode, sha256, article, body, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(rel) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
        " inode = excluded.inode, sha256 = excluded.sha256, error = excluded.error,"
        " article = CASE WHEN excluded.error IS NULL"
        " THEN COALESCE(excluded.article, seeds.article) END,"
        " body = CASE WHEN excluded.error IS NULL THEN COALESCE(excluded.body, seeds.body) END",
        (
            (
                r.rel,
                r.size,
                r.mtime_ns,
                r.inode,
                r.sha256,
                article_to_json(r.article) if r.article else None,
                r.body,
                r.error,
            )
            for r in changed
        ),
    )


def clear_manifest(conn: Conn) -> None:
    """Forget every seed (parse settings changed), and the snapshot built on them."""
    forget_snapshot(conn)
    conn.execute("DELETE FROM seeds")


def load_slugs(conn: Conn, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Permanent slugs of every article ever published (or of those ids that were)."""
    if ids is None:
        return dict(conn.execute("SELECT article_id, slug FROM slugs").fetchall())
    if is_pg(conn):
        query = "SELECT article_id, slug FROM slugs WHERE article_id = ANY(?)"
        return dict(conn.execute(query, (list(ids),)).fetchall())
    query = "SELECT article_id, slug FROM slugs WHERE article_id = ?"
    return dict(row for aid in ids for row in conn.execute(query, (aid,)))


def save_slugs(conn: Conn, slugs: Mapping[str, str]) -> None:
    """Record new permanent slugs."""
    conn.executemany(
        "INSERT INTO slugs (article_id, slug) VALUES (?, ?) ON CONFLICT DO NOTHING",
        slugs.items(),
    )


def mark_published(
    conn: Conn, articles: Iterable[tuple[datetime, str]], now: datetime
) -> None:
    """Record the first publication of articles (date, id), in the order given.

    The insertion order is the publication order (load_publication_order).
    """
    conn.executemany(
        "INSERT INTO published (article_id, first_seen, date) VALUES (?, ?, ?)"
        " ON CONFLICT(article_id) DO UPDATE SET date = excluded.date",
        ((aid, now.isoformat(), date.isoformat()) for date, aid in articles),
    )


def load_publication_order(
    conn: Conn, ids: Iterable[str] | None = None
) -> dict[str, int]:
    """article id -> its place in the order of first publication (of ids, or of all).

    SQLite numbers rows in insertion order by itself (rowid); PostgreSQL's table has an
    identity column for it (schema.PG_STEPS).
    """
    if is_pg(conn):
        query = "SELECT article_id, seq FROM published"
        if ids is None:
            return dict(conn.execute(query).fetchall())
        return dict(conn.execute(query + " WHERE article_id = ANY(?)", (list(ids),)).fetchall())
    if ids is None:
        return dict(conn.execute("SELECT article_id, rowid FROM published").fetchall())
    query = "SELECT article_id, rowid FROM published WHERE article_id = ?"
    return {aid: conn.execute(query, (aid,)).fetchone()[1] for aid in ids}


def load_outputs(conn: Conn) -> dict[str, str]:
    """Publish-folder path -> render key of the version last written."""
    return dict(conn.execute("SELECT path, key FROM outputs").fetchall())


def clear_outputs(conn: Conn) -> None:
    """Forget every tracked output (the publish folder moved)."""
    conn.execute("DELETE FROM outputs")


def save_outputs(
    conn: Conn, written: Mapping[str, str], removed: Iterable[str]
) -> None:
    """Record what was written (path -> key) and what was deleted."""
    conn.executemany("DELETE FROM outputs WHERE path = ?", ((p,) for p in removed))
    conn.executemany(
        "INSERT INTO outputs (path, key) VALUES (?, ?)"
        " ON CONFLICT(path) DO UPDATE SET key = excluded.key",
        written.items(),
    )
