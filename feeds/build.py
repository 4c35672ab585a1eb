"""One build: read the seeds (feeds.corpus), plan every output, write what changed."""

from __future__ import annotations

import gc
import json
import logging
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from feeds.config import Config
from feeds.corpus import (
    PARALLEL_THRESHOLD,
    entries_for,
    parse_fingerprint,
    publishable,
    read_corpus,
)
from feeds.db import manifest as db
from feeds.db.schema import open_readonly
from feeds.errors import SeedError
from feeds.model import Article, Block
from feeds.outputs import Output, make_key
from feeds.parallel import fork_map, workers_available
from feeds.plan import plan
from feeds.progress import progress
from feeds.publish import Publisher, Staged
from feeds.seeds import Scan, is_young, scan

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
    signature = _signature(config, found, out_dir)
    quick = _unchanged_since_last_build(config, conn, found, now, signature)
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
        for entry in reversed(entries):  # entries are newest first: new ones join in date order
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
                    "signature": signature,
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
    config: Config, conn: sqlite3.Connection, found: Scan, now: datetime, signature: str
) -> BuildResult | None:
    """The last build's result when nothing it depends on changed, else None.

    Nothing changed when the seeds' stat signature, the config and the templates are
    the same, no held-back article has fallen due, and every output is still there.
    """
    raw = db.get_meta(conn, "last_build")
    if raw is None:
        return None
    last = json.loads(raw)
    if last["signature"] != signature:
        return None
    if last["next_due"] is not None and datetime.fromisoformat(last["next_due"]) <= now:
        return None
    present = Publisher(config.paths.out).listing()
    if not present.issuperset(db.load_outputs(conn)):
        return None
    wall_now = time.time()
    if last["unsettled"] or any(is_young(seed, wall_now) for seed in found.files):
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


def _render_all(todo: Sequence[Output], publisher: Publisher) -> None:
    """Render and stage every output in todo, spread over worker processes when many."""
    workers = workers_available(len(todo), PARALLEL_THRESHOLD)
    with progress(len(todo), "file", "writing") as bar:
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
