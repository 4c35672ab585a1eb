"""One build: read the seeds (feeds.read.corpus), plan every output, write what changed."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import signal
import threading
import time
from array import array
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

from feeds.config import Config
from feeds.errors import SeedError
from feeds.model import Article, Block, Entry, Meta, Output, make_key
from feeds.publish.folder import Publisher
from feeds.publish.target import Target, publisher_for
from feeds.read.corpus import (
    PARALLEL_THRESHOLD,
    Corpus,
    entries_for,
    parse_fingerprint,
    publishable,
    read_corpus,
)
from feeds.read.parallel import fork_map, workers_available
from feeds.read.progress import progress
from feeds.read.safe_open import stat_file
from feeds.read.seeds import Scan, is_young, scan
from feeds.site import discovery
from feeds.site.delta import scope_of
from feeds.site.links import IdForm
from feeds.site.media import Image, body_image_sources, local_image, resolve_body_images
from feeds.site.plan import fingerprint_of, newest_first, plan, resolve_images
from feeds.store import manifest as db
from feeds.store import snapshot
from feeds.store.backend import Conn
from feeds.store.schema import open_state_readonly

log = logging.getLogger(__name__)

# The real clock, for file times only (the build's own time is `now`); tests move it.
_wall_clock = time.time


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
    # Published with something cut or dropped: reported, and counted by --strict.
    warnings: tuple[SeedError, ...] = field(default=())


UNKNOWN_KEY = "?"  # the key of an output being replaced: no render key is ever equal to it


class Interrupted(SystemExit):
    """SIGTERM during a build: raised (like KeyboardInterrupt for SIGINT) so that the
    build removes its temp files on the way out; the process then exits 143 (128 + 15),
    as after Ctrl-C it exits 130."""


def build(config: Config, now: datetime, conn: Conn) -> BuildResult:
    """Bring the publish folder up to date with the seeds as of `now`."""
    # A build allocates one object per article and frees them all at the end; the cyclic
    # collector's passes over that heap cost more than they find (seconds at 100 000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _sigterm_raises():
            return _build(config, now, conn)
    finally:
        if collecting:
            gc.enable()


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into Interrupted for the build, when it runs in the main thread and
    nobody else handles SIGTERM (the watch daemon does, and builds in its own threads)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Interrupted(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while a failed build cleans up (a second Ctrl-C must
    not cut the cleanup short); they are delivered afterwards."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@dataclass
class _Arranged:
    """The articles of this build in order, with what the plan and the record need."""

    entries: list[Entry]
    slugs: dict[str, str]  # every live article's slug
    known_slugs: dict[str, str]  # the slugs recorded before this build
    images: dict[str, Image]
    media: dict[str, Image]  # the other local images Markdown bodies show, by publish path
    warnings: tuple[SeedError, ...]
    sequence: dict[str, int]  # publication order (new articles numbered past 1e9)
    published_before: set[str]
    id_form: IdForm
    next_due: datetime | None
    store: Store


@dataclass
class _Plan:
    """What the publish folder should hold, and what of it must be written or removed."""

    planned: set[str]
    todo: list[Output]
    stale: list[str]


def _build(config: Config, now: datetime, conn: Conn) -> BuildResult:
    """The build's steps: scan, read, arrange, plan, write, record."""
    found = scan(config.paths.seeds, config.ignore_patterns)
    out_dir = config.out_name
    parsing, rendering = parse_fingerprint(config), fingerprint_of(config)
    signature = _signature(config, found, out_dir, parsing, rendering)
    quick = _unchanged_since_last_build(config, conn, found, now, signature)
    if quick is not None:
        return quick
    render = make_key(rendering, parsing, out_dir)
    previous = snapshot.load(config.paths.state, db.get_meta(conn, "snapshot_token"))
    corpus = _read(config, conn, found, previous, parsing)
    del found  # 100 000 stat results are not needed past this point
    site = _arrange(config, conn, corpus, previous, now)
    publisher = publisher_for(config)
    planned = _plan(config, conn, publisher, site, corpus, previous, render, out_dir, rendering)
    written_keys, refused = _write(conn, publisher, planned.todo, planned.stale, out_dir)
    new = _record(
        config,
        conn,
        now,
        site,
        corpus,
        publisher,
        planned,
        written_keys,
        refused,
        signature,
        render,
    )
    for path in publisher.written:
        log.debug("wrote %s", path)
    if config.feed.websub_hub:
        from feeds.publish.websub import changed_feeds, ping_hub

        ping_hub(config, changed_feeds(publisher.written))
    return BuildResult(
        published=len(site.entries),
        new=new,
        written=tuple(publisher.written),
        removed=tuple(planned.stale),
        skipped=(*corpus.errors, *refused),
        next_due=site.next_due,
        unsettled=corpus.unsettled,
        warnings=site.warnings,
    )


def _read(
    config: Config,
    conn: Conn,
    found: Scan,
    previous: snapshot.Snapshot | None,
    parsing: str,
) -> Corpus:
    """Read every seed that changed since the last build; forget the removed ones."""
    corpus = read_corpus(config, conn, found, previous.rows if previous else None)
    with db.transaction(conn):
        if corpus.removed:
            db.forget_snapshot(conn)
        db.save_manifest(conn, (), corpus.removed)
        db.set_meta(conn, "parse_fingerprint", parsing)
    return corpus


def _arrange(
    config: Config,
    conn: Conn,
    corpus: Corpus,
    previous: snapshot.Snapshot | None,
    now: datetime,
) -> _Arranged:
    """The articles published as of now, with slugs, images and the publication order."""
    if config.preview is not None and config.preview.drafts:
        live, next_due = list(corpus.metas), None  # a preview shows drafts and the future too
    else:
        live, next_due = publishable(corpus.metas, now)
    known_slugs = dict(previous.slugs) if previous else db.load_slugs(conn)
    store = Store(conn, config)
    entries, slugs = entries_for(live, known_slugs, corpus.articles, store.article, corpus.bases)
    images, image_warnings = resolve_images(config, (e.meta for e in entries))
    media, media_warnings = resolve_body_images(
        config, (e.meta for e in entries if e.meta.media), images.values()
    )
    sequence = dict(previous.sequence) if previous else db.load_publication_order(conn)
    published_before = set(sequence)
    id_form = _id_form(conn, bool(published_before))
    for entry in reversed(entries):  # entries are newest first: new ones join in date order
        sequence.setdefault(entry.id, len(sequence) + 1_000_000_000)
    return _Arranged(
        entries=newest_first(entries, sequence),
        slugs=slugs,
        known_slugs=known_slugs,
        images=images,
        media=media,
        warnings=(*corpus.warnings, *image_warnings, *media_warnings),
        sequence=sequence,
        published_before=published_before,
        id_form=id_form,
        next_due=next_due,
        store=store,
    )


def _plan(
    config: Config,
    conn: Conn,
    publisher: Target,
    site: _Arranged,
    corpus: Corpus,
    previous: snapshot.Snapshot | None,
    render: str,
    out_dir: str,
    rendering: str,
) -> _Plan:
    """Every output the folder should hold; those whose key changed or that are missing."""
    interrupted = db.get_meta(conn, "build_open") == "1"
    if interrupted:
        publisher.sweep()  # the last build was killed: drop its staged temp files
    tracked = db.load_outputs(conn) if db.get_meta(conn, "out_dir") == out_dir else {}
    present = _present(publisher, tracked, _last_build(conn))
    scope = None
    # A full plan after a killed build, a change of config or templates, or an output
    # deleted by hand; otherwise only what the changed articles touch.
    if (
        previous is not None
        and previous.render == render
        and not interrupted
        and present >= tracked.keys()
    ):
        scope = scope_of(
            previous, corpus, site.entries, site.images, site.sequence, config.feed.max_items
        )
        log.debug(
            "incremental plan: %d article pages, %d months, %d groups",
            len(scope.articles),
            len(scope.months),
            len(scope.groups),
        )
    note = discovery.robots_note(config)
    if scope is None and note is not None:  # full builds only: said once, not on every run
        log.warning("%s", note)
    planned: set[str] = set()
    todo: list[Output] = []
    for item in plan(
        config,
        site.entries,
        site.store,
        site.sequence,
        site.images,
        rendering,
        scope,
        site.id_form,
        site.media,
    ):
        if isinstance(item, str):
            planned.add(item)
            continue
        planned.add(item.path)
        if tracked.get(item.path) != item.key or item.path not in present:
            todo.append(item)
    stale = sorted(path for path in tracked if path not in planned)
    return _Plan(planned, todo, stale)


def _record(
    config: Config,
    conn: Conn,
    now: datetime,
    site: _Arranged,
    corpus: Corpus,
    publisher: Target,
    planned: _Plan,
    written_keys: Mapping[str, str],
    refused: Sequence[SeedError],
    signature: str,
    render: str,
) -> tuple[str, ...]:
    """Record what was published in one transaction, then the snapshot; the new ids."""
    entries = site.entries
    new = tuple(e.id for e in entries if e.id not in site.published_before)
    new_slugs = {aid: slug for aid, slug in site.slugs.items() if aid not in site.known_slugs}
    token = snapshot.new_token(db.get_meta(conn, "snapshot_token"))
    last_build = {
        # A refused image copy was left unwritten: the next build tries again.
        "signature": "" if refused else signature,
        "next_due": site.next_due.isoformat() if site.next_due else None,
        "published": len(entries),
        "skipped": [[e.path, e.reason] for e in (*corpus.errors, *refused)],
        "warnings": [[e.path, e.reason] for e in site.warnings],
        "unsettled": list(corpus.unsettled),
        "media": _media_signature(config.paths.seeds, entries),
        "folders": publisher.folder_times(
            sorted({path.rpartition("/")[0] for path in planned.planned})
        ),
    }
    with db.transaction(conn):
        db.save_slugs(conn, new_slugs)
        fresh = set(new)
        db.mark_published(conn, sorted((e.date, e.id) for e in entries if e.id in fresh), now)
        db.save_outputs(conn, dict(written_keys), planned.stale)
        db.set_meta(conn, "build_open", "0")
        db.set_meta(conn, "snapshot_token", token)
        db.set_meta(conn, "last_build", json.dumps(last_build))
        sequence = {**site.sequence, **db.load_publication_order(conn, new)}
    known_slugs = {**site.known_slugs, **new_slugs}
    snapshot.save(
        config.paths.state,
        token,
        snapshot.Snapshot(
            render,
            {row.rel: row for row in corpus.rows},
            known_slugs,
            {aid: number for aid, number in sequence.items() if number < 1_000_000_000},
            [entry.id for entry in entries],
            {aid: repr(image) for aid, image in site.images.items()},
        ),
    )
    return new


def _id_form(conn: Conn, has_published: bool) -> IdForm:
    """How this site's feed ids are made: recorded on its first build and never changed.

    A state that published before the form was recorded keeps host-only ids: readers
    know its articles by them.
    """
    form = db.get_meta(conn, "id_form")
    if form in ("path", "host"):
        return cast(IdForm, form)
    chosen: IdForm = "host" if has_published else "path"
    with db.transaction(conn):
        db.set_meta(conn, "id_form", chosen)
    return chosen


def _write(
    conn: Conn,
    publisher: Target,
    todo: Sequence[Output],
    stale: Sequence[str],
    out_dir: str,
) -> tuple[dict[str, str], list[SeedError]]:
    """Render and publish todo, then remove stale files; the keys written and the image
    copies refused.

    The outputs table never claims less than what is on disk: before anything is staged,
    every path about to be written is recorded with an unknown key, and stale paths stay
    recorded until their files are gone (the caller forgets them with the new keys). So
    whatever moment a build is killed at, the next one knows every file it may have left:
    it writes them again or removes them (and sweeps the temp files).
    """
    db.set_meta(conn, "build_open", "1")
    if todo or db.get_meta(conn, "out_dir") != out_dir:
        with db.transaction(conn):
            if db.get_meta(conn, "out_dir") != out_dir:
                db.clear_outputs(conn)  # another publish folder: its files are not ours
                db.set_meta(conn, "out_dir", out_dir)
            db.save_outputs(conn, dict.fromkeys((o.path for o in todo), UNKNOWN_KEY), ())
    try:
        refused = _render_all(todo, publisher)
        publisher.commit()  # pages that no longer link to the stale files come first
        for path in stale:
            publisher.remove(path)
        publisher.commit()
    except BaseException:
        with _signals_held():
            publisher.abort()
            publisher.sweep()  # temp files that worker processes staged, too
        raise
    written = {o.path: o.key for o in todo if o.path not in refused}
    return written, list(refused.values())


class Store:
    """Articles and their bodies read from the manifest when a page or feed needs them.

    A forked worker never touches its parent's connection (neither SQLite nor a
    PostgreSQL session may be carried across fork): it opens its own, read-only.
    """

    KEEP = 1024  # articles kept after reading: a page's neighbours, an index's entries

    def __init__(self, conn: Conn, config: Config) -> None:
        self.conn = conn
        self.config = config
        self.pid = os.getpid()
        self._recent: dict[str, Article] = {}

    def _connection(self) -> Conn:
        if os.getpid() != self.pid:
            self.conn = open_state_readonly(self.config)
            self.pid = os.getpid()
        return self.conn

    def __call__(self, article: Article) -> tuple[Block, ...]:
        """The blocks of an article (from the state database)."""
        if article.blocks:
            return article.blocks
        return db.load_body(self._connection(), article.source)

    def article(self, meta: Meta) -> Article:
        """The Article a Meta stands for, as the manifest holds it (the last few kept)."""
        found = self._recent.get(meta.source)
        if found is not None:
            return found
        found = db.load_article(self._connection(), meta.source)
        if found is None:
            raise LookupError(f"{meta.source}: not in the manifest")
        if len(self._recent) >= self.KEEP:
            del self._recent[next(iter(self._recent))]  # the oldest: dicts keep order
        self._recent[meta.source] = found
        return found


def _signature(config: Config, found: Scan, out_dir: str, parsing: str, rendering: str) -> str:
    """Everything a build's output depends on, short of reading the files.

    parsing and rendering are parse_fingerprint and plan.fingerprint_of (the templates).
    """
    files = found.files
    digest = hashlib.sha256()
    for part in (parsing, rendering, repr(config), out_dir):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    # In bulk: this runs for every seed on every build, the quick ones too.
    digest.update("\x00".join([f.rel for f in files]).encode("utf-8", "surrogatepass"))
    digest.update(array("q", [f.size for f in files]).tobytes())
    digest.update(array("q", [f.mtime_ns for f in files]).tobytes())
    digest.update(array("Q", [f.inode for f in files]).tobytes())
    for error in found.errors:
        digest.update(f"\x00{error.path}\x00{error.reason}".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _unchanged_since_last_build(
    config: Config, conn: Conn, found: Scan, now: datetime, signature: str
) -> BuildResult | None:
    """The last build's result when nothing it depends on changed, else None.

    Nothing changed when the seeds' stat signature, the config and the templates are
    the same, no held-back article has fallen due, and every output is still there.
    """
    last = _last_build(conn)
    if not last or last["signature"] != signature or db.get_meta(conn, "build_open") == "1":
        return None  # changed, or the build after last_build was killed: it must repair
    if last["next_due"] is not None and datetime.fromisoformat(last["next_due"]) <= now:
        return None
    tracked = db.load_outputs(conn)
    # A bucket is not listed on every watch tick: only feeds writes it, the outputs table
    # says what is there (a build with work to do lists it).
    if not config.out_url and not _present(Publisher(config.paths.out), tracked, last) >= (
        tracked.keys()
    ):
        return None
    if last.get("media") != _media_signature_now(config.paths.seeds, last.get("media", [])):
        return None  # an image file changed: its size shows in pages and feeds
    wall_now = _wall_clock()
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
        warnings=tuple(SeedError(path, reason) for path, reason in last.get("warnings", [])),
    )


def _last_build(conn: Conn) -> dict[str, Any]:
    """What the last complete build recorded of itself ({} before the first)."""
    raw = db.get_meta(conn, "last_build")
    return {} if raw is None else dict(json.loads(raw))


def _present(publisher: Target, tracked: Mapping[str, str], last: Mapping[str, Any]) -> Set[str]:
    """The files of the publish folder, or enough of them to tell which tracked ones are
    there: when no folder that holds outputs changed since the last build, all are."""
    if not tracked:
        return set()
    if publisher.untouched_since(last.get("folders", []), _wall_clock()):
        return tracked.keys()
    return publisher.listing()


def _media_signature(seeds: Path, entries: Sequence[Entry]) -> list[list[str | int]]:
    """[path inside the seeds folder, size, mtime_ns] of every local image an article
    names, [path, -1, -1] for one missing or refused: an image that comes back, goes or
    changes shows in pages and feeds."""
    wanted = {source for entry in entries if (source := local_image(entry.meta)) is not None}
    wanted.update(source for entry in entries for source in body_image_sources(entry.meta))
    return _media_signature_now(seeds, [[source, -1, -1] for source in wanted])


def _media_signature_now(seeds: Path, last: list[list[str | int]]) -> list[list[str | int]]:
    """The same images' [path, size, mtime_ns] as they are now, read as every file under
    the seeds folder is (feeds.read.safe_open)."""
    now: list[list[str | int]] = []
    for path, _size, _mtime in last:
        try:
            st = stat_file(seeds, str(path))
        except SeedError:
            now.append([path, -1, -1])
            continue
        now.append([path, st.st_size, st.st_mtime_ns])
    return sorted(now)


class Refusal(NamedTuple):
    """An output a worker could not render because its source was refused (SeedError
    itself does not survive pickling)."""

    output: str
    path: str
    reason: str


def _render_all(todo: Sequence[Output], publisher: Target) -> dict[str, SeedError]:
    """Render and stage every output in todo, spread over worker processes when many;
    the outputs whose source was refused (an image swapped for a symlink out), by path."""
    refused: dict[str, SeedError] = {}
    workers = workers_available(len(todo), PARALLEL_THRESHOLD)
    with progress(len(todo), "file", "writing") as bar:
        if not workers:
            for output in todo:
                try:
                    publisher.write(output.path, output.render())
                except SeedError as exc:
                    refused[output.path] = exc
                bar.update(1)
            return refused

        def task(index: int) -> object:
            output = todo[index]
            try:
                data = output.render()
            except SeedError as exc:
                return Refusal(output.path, exc.path, exc.reason)
            return publisher.stage(output.path, data)

        # closing(): an interrupt ends the pool (and its workers) before the caller
        # sweeps their temp files.
        with closing(fork_map(task, len(todo), workers, chunk=200)) as chunks:
            for chunk in chunks:
                for item in chunk:
                    if isinstance(item, Refusal):
                        refused[item.output] = SeedError(item.path, item.reason)
                    elif item is not None:
                        publisher.adopt([item])
                bar.update(len(chunk))
    return refused
