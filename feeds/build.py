"""One build: read the seeds (reusing the manifest), plan every output, write what changed."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from feeds import __version__
from feeds.config import Config
from feeds.db import manifest as db
from feeds.db.schema import open_readonly
from feeds.errors import SeedError
from feeds.model import Article, Block, Entry
from feeds.outputs import Output, make_key
from feeds.parallel import fork_map, workers_available
from feeds.plan import plan
from feeds.publish import Publisher, Staged
from feeds.reader import READER_REVISION
from feeds.seeds import SETTLE_SECONDS, Scan, SeedFile, read_article, read_bytes, scan, settle
from feeds.slugs import assign_slugs, make_slug

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    """What a build did, for the CLI and the scheduler."""

    published: int
    new: tuple[str, ...]
    written: tuple[str, ...]
    removed: tuple[str, ...]
    skipped: tuple[SeedError, ...]
    next_due: datetime | None
    unsettled: tuple[str, ...] = field(default=())


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
    for index, fresh in zip(stale, _read_rows(config, settled, rows, stale), strict=True):
        batch.append(fresh)
        light = dataclasses.replace(fresh, body=None)  # bodies live in the database only
        rows[index] = light
        changed.append(light)
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


def build(config: Config, now: datetime, conn: sqlite3.Connection) -> BuildResult:
    """Bring the publish folder up to date with the seeds as of `now`."""
    # A build allocates one object per article and frees them all at the end; the cyclic
    # collector's passes over that heap cost more than they find (seconds at 100 000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(config, now, conn)
    finally:
        if collecting:
            gc.enable()


def _build(config: Config, now: datetime, conn: sqlite3.Connection) -> BuildResult:
    found = scan(config.paths.seeds, config.ignore_patterns)
    out_dir = str(config.paths.out.resolve())
    quick = _unchanged_since_last_build(config, conn, found, now, out_dir)
    if quick is not None:
        return quick
    corpus = read_corpus(config, conn, found)
    with db.transaction(conn):
        db.save_manifest(conn, (), corpus.removed)
        db.set_meta(conn, "parse_fingerprint", parse_fingerprint(config))
    live, next_due = publishable(corpus.articles, now)
    known_slugs = db.load_slugs(conn)
    entries, slugs = entries_for(live, known_slugs)
    keys = {a.id: key for a, key in live}
    published_before = db.load_published(conn)
    publisher = Publisher(config.paths.out)
    if db.get_meta(conn, "build_open") == "1":
        publisher.sweep()  # the last build was killed: drop its staged temp files
    db.set_meta(conn, "build_open", "1")
    written_keys: dict[str, str] = {}
    previous = db.load_outputs(conn) if db.get_meta(conn, "out_dir") == out_dir else {}
    present = publisher.listing() if previous else set()
    planned: set[str] = set()
    try:
        sequence = db.load_publication_order(conn)
        for entry in sorted(entries, key=lambda e: (e.article.date, e.id)):
            sequence.setdefault(entry.id, len(sequence) + 1_000_000_000)
        outputs = plan(config, entries, keys, BodyStore(conn, config.paths.state), sequence)
        todo: list[Output] = []
        for output in outputs:
            planned.add(output.path)
            if previous.get(output.path) != output.key or output.path not in present:
                todo.append(output)
        _render_all(todo, publisher)
        written_keys.update((output.path, output.key) for output in todo)
        stale = sorted(path for path in previous if path not in planned)
        for path in stale:
            publisher.remove(path)
        publisher.commit()
    except BaseException:
        publisher.abort()
        raise
    new = tuple(e.id for e in entries if e.id not in published_before)
    new_slugs = {aid: slug for aid, slug in slugs.items() if aid not in known_slugs and aid in keys}
    with db.transaction(conn):
        db.save_slugs(conn, new_slugs)
        fresh = set(new)
        db.mark_published(
            conn,
            sorted((e.article.date, e.id) for e in entries if e.id in fresh),
            now,
        )
        if db.get_meta(conn, "out_dir") != out_dir:
            db.clear_outputs(conn)  # another publish folder: its files are not ours to track
            db.set_meta(conn, "out_dir", out_dir)
        db.save_outputs(conn, written_keys, stale)
        db.set_meta(conn, "build_open", "0")
        db.set_meta(
            conn,
            "last_build",
            json.dumps(
                {
                    "signature": _signature(config, found, out_dir),
                    "next_due": next_due.isoformat() if next_due else None,
                    "published": len(entries),
                    "skipped": [[e.path, e.reason] for e in corpus.errors],
                    "unsettled": list(corpus.unsettled),
                }
            ),
        )
    for path in publisher.written:
        log.debug("wrote %s", path)
    if config.feed.websub_hub:
        from feeds.websub import changed_feeds, ping_hub

        ping_hub(config, changed_feeds(publisher.written))
    return BuildResult(
        published=len(entries),
        new=new,
        written=tuple(publisher.written),
        removed=tuple(stale),
        skipped=corpus.errors,
        next_due=next_due,
        unsettled=corpus.unsettled,
    )


class BodyStore:
    """Article bodies read from the manifest when a page or feed needs them.

    A forked worker never touches its parent's SQLite connection (SQLite forbids
    carrying one across fork): it opens its own, read-only.
    """

    def __init__(self, conn: sqlite3.Connection, state_dir: Path) -> None:
        self.conn = conn
        self.state_dir = state_dir
        self.pid = os.getpid()

    def __call__(self, article: Article) -> tuple[Block, ...]:
        """The blocks of an article (from the state database)."""
        if article.blocks:
            return article.blocks
        if os.getpid() != self.pid:
            self.conn = open_readonly(self.state_dir)
            self.pid = os.getpid()
        return db.load_body(self.conn, article.source)


def _signature(config: Config, found: Scan, out_dir: str) -> str:
    """Everything a build's output depends on, short of reading the files."""
    from feeds.templating import templates_fingerprint

    return make_key(
        parse_fingerprint(config),
        repr(config),
        templates_fingerprint(config),
        out_dir,
        *(f"{f.rel}\x00{f.size}\x00{f.mtime_ns}\x00{f.inode}" for f in found.files),
        *(f"{e.path}\x00{e.reason}" for e in found.errors),
    )


def _unchanged_since_last_build(
    config: Config, conn: sqlite3.Connection, found: Scan, now: datetime, out_dir: str
) -> BuildResult | None:
    """The last build's result when nothing it depends on changed, else None.

    Nothing changed when the seeds' stat signature, the config and the templates are
    the same, no held-back article has fallen due, and every output is still there.
    """
    raw = db.get_meta(conn, "last_build")
    if raw is None:
        return None
    last = json.loads(raw)
    if last["signature"] != _signature(config, found, out_dir):
        return None
    if last["next_due"] is not None and datetime.fromisoformat(last["next_due"]) <= now:
        return None
    present = Publisher(config.paths.out).listing()
    if not present.issuperset(db.load_outputs(conn)):
        return None
    if last["unsettled"] or any(_is_young(seed) for seed in found.files):
        return None
    return BuildResult(
        published=last["published"],
        new=(),
        written=(),
        removed=(),
        skipped=tuple(SeedError(path, reason) for path, reason in last["skipped"]),
        next_due=datetime.fromisoformat(last["next_due"]) if last["next_due"] else None,
        unsettled=tuple(last["unsettled"]),
    )


def _is_young(seed: SeedFile) -> bool:
    import time

    return time.time() - seed.mtime_ns / 1e9 < SETTLE_SECONDS


def _render_all(todo: Sequence[Output], publisher: Publisher) -> None:
    """Render and stage every output in todo, spread over worker processes when many."""
    workers = workers_available(len(todo), PARALLEL_THRESHOLD)
    with _progress(len(todo)) as bar:
        if not workers:
            for output in todo:
                publisher.write(output.path, output.render())
                bar.update(1)
            return

        def task(index: int) -> Staged | None:
            output = todo[index]
            return publisher.stage(output.path, output.render())

        for chunk in fork_map(task, len(todo), workers, chunk=200):
            publisher.adopt(item for item in chunk if item is not None)
            bar.update(len(chunk))


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, count: int) -> None:
        """Nothing to show."""


def _progress(total: int) -> Any:
    """A progress bar on a terminal for long builds (tqdm shows it only after 2 s)."""
    import sys

    if not sys.stderr.isatty() or total < 500:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="file", delay=2.0, leave=False, file=sys.stderr)
