"""The seeds as read: scan, reuse the manifest, parse what changed, assign permanent slugs."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds import __version__
from feeds.config import Config
from feeds.db import manifest as db
from feeds.errors import SeedError
from feeds.model import Article, Entry
from feeds.outputs import make_key
from feeds.parallel import fork_map, workers_available
from feeds.progress import progress
from feeds.reader import READER_REVISION
from feeds.seeds import Scan, SeedFile, read_article, read_bytes, scan, settle
from feeds.slugs import assign_slugs, make_slug


@dataclass(frozen=True)
class Corpus:
    """The seeds as read: articles with their content keys, and what was refused."""

    articles: tuple[tuple[Article, str], ...]
    errors: tuple[SeedError, ...]
    changed: tuple[db.ManifestRow, ...]
    removed: tuple[str, ...]
    unsettled: tuple[str, ...]


def parse_fingerprint(config: Config) -> str:
    """What parsing depends on besides the file's bytes; a change invalidates the manifest."""
    return make_key(
        __version__, str(READER_REVISION), config.site.timezone, str(config.seeds.max_bytes)
    )


def read_corpus(config: Config, conn: sqlite3.Connection, found: Scan | None = None) -> Corpus:
    """Scan the seeds folder; parse only files the manifest does not already know.

    Articles come without their bodies (blocks=()): freshly parsed seeds are saved to
    the manifest as they are read, and bodies are read back with feeds.db.manifest.load_body.
    """
    fingerprint = parse_fingerprint(config)
    if db.get_meta(conn, "parse_fingerprint") != fingerprint:
        db.clear_manifest(conn)  # a cache: parse settings changed, so read every seed again
    known = db.load_manifest(conn)
    if found is None:
        found = scan(config.paths.seeds, config.ignore_patterns)
    settled, moving = settle(found.files)
    errors = list(found.errors)
    rows = [known.get(seed.rel) for seed in settled]
    stale = [
        index
        for index, (seed, row) in enumerate(zip(settled, rows, strict=True))
        if row is None or row.signature != seed.signature
    ]
    changed: list[db.ManifestRow] = []
    batch: list[db.ManifestRow] = []
    with progress(len(stale), "seed", "reading") as bar:
        for index, fresh in zip(stale, _read_rows(config, settled, rows, stale), strict=True):
            batch.append(fresh)
            light = fresh._replace(body=None)  # bodies live in the database only
            rows[index] = light
            changed.append(light)
            bar.update(1)
            if len(batch) >= 500:
                _save_rows(conn, batch)
                batch = []
    _save_rows(conn, batch)
    found_rows = [row for row in rows if row is not None]
    for seed in moving:
        row = known.get(seed.rel)
        if row is not None:
            found_rows.append(row)  # its last published version stays until it settles
    present = {seed.rel for seed in found.files}
    removed = tuple(rel for rel in known if rel not in present)
    articles: list[tuple[Article, str]] = []
    owner: dict[str, str] = {}
    for row in sorted(found_rows, key=lambda r: r.rel):
        if row.error is not None or row.article is None:
            errors.append(SeedError(row.rel, row.error or "unreadable"))
            continue
        article = row.article
        if article.id in owner:
            errors.append(SeedError(row.rel, f"same file name (id) as {owner[article.id]}"))
            continue
        owner[article.id] = row.rel
        articles.append((article, f"{row.sha256}:{row.rel}"))
    return Corpus(
        tuple(articles), tuple(errors), tuple(changed), removed, tuple(s.rel for s in moving)
    )


PARALLEL_THRESHOLD = 1000


def _read_rows(
    config: Config,
    seeds: Sequence[SeedFile],
    previous: Sequence[db.ManifestRow | None],
    indexes: Sequence[int],
) -> Iterator[db.ManifestRow]:
    """Read and parse the seeds at indexes, in worker processes when there are many."""

    def task(position: int) -> db.ManifestRow:
        index = indexes[position]
        return _read_row(config, seeds[index], previous[index])

    workers = workers_available(len(indexes), PARALLEL_THRESHOLD)
    if not workers:
        yield from (task(position) for position in range(len(indexes)))
        return
    for chunk in fork_map(task, len(indexes), workers, chunk=250):
        yield from chunk


def _save_rows(conn: sqlite3.Connection, rows: list[db.ManifestRow]) -> None:
    """Store freshly parsed seeds (the manifest is a cache: saving early is always safe)."""
    if rows:
        with db.transaction(conn):
            db.save_manifest(conn, rows, ())


def _read_row(config: Config, seed: SeedFile, previous: db.ManifestRow | None) -> db.ManifestRow:
    article: Article | None = None
    body: str | None = None
    error: str | None = None
    sha = ""
    try:
        data = read_bytes(seed, config.seeds.max_bytes)
        sha = hashlib.sha256(data).hexdigest()
        if previous is not None and previous.sha256 == sha:
            article, error = previous.article, previous.error
        else:
            full = read_article(seed, data, config.site.tz)
            body = db.body_to_json(full.blocks)  # a string pickles far faster than blocks
            article = dataclasses.replace(full, blocks=())
    except SeedError as exc:
        error = exc.reason
    return db.ManifestRow(seed.rel, seed.size, seed.mtime_ns, seed.inode, sha, article, error, body)


def publishable(
    articles: Iterable[tuple[Article, str]], now: datetime
) -> tuple[list[tuple[Article, str]], datetime | None]:
    """Articles due by now (drafts never), and when the next held-back one falls due."""
    live: list[tuple[Article, str]] = []
    next_due: datetime | None = None
    for article, key in articles:
        if article.draft:
            continue
        if article.date <= now:
            live.append((article, key))
        elif next_due is None or article.date < next_due:
            next_due = article.date
    return live, next_due


def base_slug(article: Article) -> str:
    """The slug an article asks for: from its slug header, else its title, else its id."""
    for text in (article.slug_hint, article.title, article.id):
        slug = make_slug(text)
        if slug:
            return slug
    return "article"


def entries_for(
    live: list[tuple[Article, str]], known_slugs: dict[str, str]
) -> tuple[list[Entry], dict[str, str]]:
    """Entries newest first with permanent slugs; also the slug table after assignment."""
    oldest_first = sorted(live, key=lambda item: (item[0].date, item[0].id))
    wanted = ((a.id, base_slug(a)) for a, _ in oldest_first if a.id not in known_slugs)
    slugs = assign_slugs(wanted, known_slugs)
    entries = [Entry(a, slugs[a.id]) for a, _ in reversed(oldest_first)]
    return entries, slugs
