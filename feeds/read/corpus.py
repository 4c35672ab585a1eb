"""The seeds as read: scan, reuse the manifest, parse what changed, assign permanent slugs."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Generator, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from operator import attrgetter

from feeds import __version__
from feeds.config import Config
from feeds.errors import SeedError
from feeds.model import Article, Entry, Loader, Meta, SeedRow, make_key, stamp_of
from feeds.read import layouts
from feeds.read.dates import site_time
from feeds.read.parallel import fork_map, workers_available
from feeds.read.progress import progress
from feeds.read.reader import READER_REVISION, Limits
from feeds.read.seeds import Scan, SeedFile, read_article, read_bytes, scan, settle
from feeds.read.slugs import assign_slugs, make_slug
from feeds.store import manifest as db
from feeds.store.backend import Conn


@dataclass(frozen=True)
class Corpus:
    """The seeds as read: every seed's row, the readable articles, and what was refused."""

    rows: tuple[SeedRow, ...]  # every seed known after this read, by rel (for the snapshot)
    metas: tuple[Meta, ...]  # readable articles, ordered by path
    articles: dict[str, Article]  # the Articles at hand (read in this build), by path
    bases: dict[str, str]  # the slug each article read in this build asks for, by path
    errors: tuple[SeedError, ...]
    changed: tuple[str, ...]  # paths whose bytes were read again
    removed: tuple[str, ...]
    unsettled: tuple[str, ...]
    # Published articles with something cut or dropped (feeds.read.reader.Limits, bad image):
    # reported like errors and counted by `check` and `--strict`.
    warnings: tuple[SeedError, ...] = ()


def parse_fingerprint(config: Config) -> str:
    """What parsing depends on besides the file's bytes; a change invalidates the manifest."""
    # base_url: a Markdown body's relative links are made absolute when it is parsed.
    return make_key(
        __version__,
        str(READER_REVISION),
        layouts.renderer_version(),
        config.site.timezone,
        config.site.base_url,
        str(config.seeds.max_bytes),
        repr(limits_of(config)),
    )


def limits_of(config: Config) -> Limits:
    """The reader's limits from the seeds settings."""
    seeds = config.seeds
    return Limits(tags=seeds.max_tags, title=seeds.max_title, summary=seeds.max_summary)


def meta_of(article: Article, sha256: str, tz: tzinfo) -> Meta:
    """The planning view of an article whose file has the given hash."""
    local = site_time(article.date, tz)  # the month its pages show
    return Meta(
        article.id,
        article.source,
        stamp_of(article.date),
        f"{local.year:04d}-{local.month:02d}",
        article.tags,
        article.image,
        article.draft,
        f"{sha256}:{article.source}",
        article.warnings,
        article.media,
    )


def known_from_manifest(
    config: Config, conn: Conn
) -> tuple[dict[str, SeedRow], dict[str, Article]]:
    """Every seed the manifest knows, and their Articles (when there is no usable snapshot)."""
    tz = config.site.tz
    known: dict[str, SeedRow] = {}
    articles: dict[str, Article] = {}
    manifest = db.load_manifest(conn)
    keep = len(manifest) <= KEEP_ARTICLES
    for rel, row in manifest.items():
        meta = None
        if row.article is not None:
            meta = meta_of(row.article, row.sha256, tz)
            if keep:
                articles[rel] = row.article
        known[rel] = SeedRow(rel, row.size, row.mtime_ns, row.inode, row.sha256, meta, row.error)
    return known, articles


def read_corpus(
    config: Config,
    conn: Conn,
    found: Scan | None = None,
    known: dict[str, SeedRow] | None = None,
) -> Corpus:
    """Scan the seeds folder; parse only files that changed since they were last read.

    `known` is what the last build knew of every seed (feeds.store.snapshot); without it,
    the manifest in the state database says. Articles come without their bodies
    (blocks=()): freshly parsed seeds are saved to the manifest as they are read, and
    bodies are read back with feeds.store.manifest.load_body.
    """
    fingerprint = parse_fingerprint(config)
    articles: dict[str, Article] = {}
    bases: dict[str, str] = {}
    if db.get_meta(conn, "parse_fingerprint") != fingerprint:
        db.clear_manifest(conn)  # a cache: parse settings changed, so read every seed again
        known = {}
    elif known is None:
        known, articles = known_from_manifest(config, conn)
    if found is None:
        found = scan(config.paths.seeds, config.ignore_patterns)
    _settled, moving = settle(config.paths.seeds, found.files)
    unsettled = {seed.rel for seed in moving}
    slots, stale, stale_slots = _sort_seeds(found, known, unsettled)
    _read_stale(config, conn, known, slots, stale, stale_slots, articles, bases)
    ordered = tuple(row for row in slots if row is not None)
    removed = tuple(sorted(known.keys() - {seed.rel for seed in found.files}))
    errors = list(found.errors)
    metas, warnings = _metas(ordered, errors)
    return Corpus(
        ordered,
        metas,
        articles,
        bases,
        tuple(errors),
        tuple(seed.rel for seed in stale),
        removed,
        tuple(seed.rel for seed in moving),
        warnings,
    )


def _sort_seeds(
    found: Scan, known: dict[str, SeedRow], unsettled: set[str]
) -> tuple[list[SeedRow | None], list[SeedFile], list[int]]:
    """One pass in path order: a known, unchanged seed keeps its row; a moving one keeps its
    last published version until it settles; the rest are to be read (None in their slot,
    their seeds and slot numbers returned)."""
    slots: list[SeedRow | None] = []
    stale: list[SeedFile] = []
    stale_slots: list[int] = []
    get = known.get
    for seed in found.files:
        row = get(seed.rel)
        if seed.rel in unsettled:
            if row is not None:
                slots.append(row)
            continue
        if row is None or row[1:4] != seed[2:5]:  # (size, mtime_ns, inode)
            stale_slots.append(len(slots))
            slots.append(None)
            stale.append(seed)
        else:
            slots.append(row)
    return slots, stale, stale_slots


def _read_stale(
    config: Config,
    conn: Conn,
    known: dict[str, SeedRow],
    slots: list[SeedRow | None],
    stale: list[SeedFile],
    stale_slots: list[int],
    articles: dict[str, Article],
    bases: dict[str, str],
) -> None:
    """Read the stale seeds into their slots, saving them to the manifest as they come."""
    batch: list[db.ManifestRow] = []
    get = known.get
    # closing(): an interrupt ends the worker processes at once, not at interpreter exit.
    with (
        progress(len(stale), "seed", "reading") as bar,
        closing(_read_rows(config, stale, known)) as fresh_rows,
    ):
        for slot, (fresh, article, base) in zip(stale_slots, fresh_rows, strict=True):
            previous = get(fresh.rel)
            if article is not None:
                if len(stale) <= KEEP_ARTICLES:
                    articles[fresh.rel] = article
                bases[fresh.rel] = base
                slots[slot] = _seed_row(fresh, article, config.site.tz)
            elif previous is not None and fresh.sha256 == previous.sha256:
                slots[slot] = previous._replace(
                    size=fresh.size, mtime_ns=fresh.mtime_ns, inode=fresh.inode
                )
            else:
                slots[slot] = _seed_row(fresh, None, config.site.tz)
            batch.append(fresh)
            bar.update(1)
            if len(batch) >= 500:
                _save_rows(conn, batch)
                batch = []
    _save_rows(conn, batch)


def _metas(
    ordered: tuple[SeedRow, ...], errors: list[SeedError]
) -> tuple[tuple[Meta, ...], tuple[SeedError, ...]]:
    """The readable articles' Metas and their warnings; unreadable rows and duplicate ids
    are appended to errors."""
    metas: list[Meta] = []
    warnings: list[SeedError] = []
    owner: dict[str, str] = {}
    for row in ordered:
        meta = row.meta
        if meta is None or row.error is not None:
            errors.append(SeedError(row.rel, row.error or "unreadable"))
            continue
        if meta.id in owner:
            errors.append(SeedError(row.rel, f"same file name (id) as {owner[meta.id]}"))
            continue
        owner[meta.id] = row.rel
        metas.append(meta)
        warnings.extend(SeedError(row.rel, warning) for warning in meta.warnings)
    return tuple(metas), tuple(warnings)


PARALLEL_THRESHOLD = 1000
# Articles read in this build stay in memory for rendering when there are at most this
# many; a bigger cold build reads them back from the manifest page by page, which keeps
# its memory flat (100 000 articles held at once cost 150 MB).
KEEP_ARTICLES = 20_000


def _seed_row(fresh: db.ManifestRow, article: Article | None, tz: tzinfo) -> SeedRow:
    meta = meta_of(article, fresh.sha256, tz) if article is not None else None
    return SeedRow(
        fresh.rel, fresh.size, fresh.mtime_ns, fresh.inode, fresh.sha256, meta, fresh.error
    )


def _read_rows(
    config: Config, seeds: Sequence[SeedFile], known: Mapping[str, SeedRow]
) -> Generator[tuple[db.ManifestRow, Article | None, str], None, None]:
    """Read and parse seeds, in worker processes when there are many.

    Each comes back as the manifest row to save and the Article read (None when the
    bytes are those already known, or unreadable).
    """

    def task(position: int) -> tuple[db.ManifestRow, Article | None, str]:
        seed = seeds[position]
        row, article = _read_row(config, seed, known.get(seed.rel))
        # The slug it would take if new: computed here, in the workers (slugify is slow).
        return row, article, base_slug(article) if article is not None else ""

    workers = workers_available(len(seeds), PARALLEL_THRESHOLD)
    if not workers:
        yield from (task(position) for position in range(len(seeds)))
        return
    if any(layouts.is_markdown(seed.rel) for seed in seeds):
        # Loaded once here, before the fork, rather than once in each worker.
        import feeds.read.md_reader  # noqa: F401
    with closing(fork_map(task, len(seeds), workers, chunk=250)) as chunks:
        for chunk in chunks:
            yield from chunk


def _save_rows(conn: Conn, rows: list[db.ManifestRow]) -> None:
    """Store freshly read seeds (the manifest is a cache: saving early is always safe)."""
    if rows:
        with db.transaction(conn):
            db.forget_snapshot(conn)
            db.save_manifest(conn, rows, ())


def _read_row(
    config: Config, seed: SeedFile, previous: SeedRow | None
) -> tuple[db.ManifestRow, Article | None]:
    """One seed read: a row whose `article` is None when only its stat changed."""
    article: Article | None = None
    body: str | None = None
    error: str | None = None
    sha = ""
    try:
        data = read_bytes(config.paths.seeds, seed, config.seeds.max_bytes)
        sha = hashlib.sha256(data).hexdigest()
        if previous is not None and previous.sha256 == sha:
            # Same bytes, new stat (touched, copied back): the stored article stands.
            row = db.ManifestRow(
                seed.rel, seed.size, seed.mtime_ns, seed.inode, sha, None, previous.error
            )
            return row, None
        full = read_article(seed, data, config.site.tz, limits_of(config), config.site.base_url)
        body = db.body_to_json(full.blocks)  # a string pickles far faster than blocks
        article = dataclasses.replace(full, blocks=())
    except SeedError as exc:
        error = exc.reason
    row = db.ManifestRow(seed.rel, seed.size, seed.mtime_ns, seed.inode, sha, article, error, body)
    return row, article


def publishable(metas: Iterable[Meta], now: datetime) -> tuple[list[Meta], datetime | None]:
    """Articles due by now (drafts never), and when the next held-back one falls due."""
    live: list[Meta] = []
    next_due: str | None = None
    cutoff = stamp_of(now)
    for meta in metas:
        if meta.draft:
            continue
        if meta.stamp <= cutoff:
            live.append(meta)
        elif next_due is None or meta.stamp < next_due:
            next_due = meta.stamp
    if next_due is None:
        return live, None
    return live, datetime.fromisoformat(next_due).replace(tzinfo=UTC)


def base_slug(article: Article) -> str:
    """The slug an article asks for: from its slug header, else its title, else its id."""
    for text in (article.slug_hint, article.title, article.id):
        slug = make_slug(text)
        if slug:
            return slug
    return "article"


def entries_for(
    live: Iterable[Meta],
    known_slugs: dict[str, str],
    articles: Mapping[str, Article],
    loader: Loader | None,
    bases: Mapping[str, str] | None = None,
) -> tuple[list[Entry], dict[str, str]]:
    """Entries newest first with permanent slugs; also the slug table after assignment.

    `articles` (by path) are the Articles at hand; the others are read through the
    loader when a page needs them (and for a new slug).
    """
    oldest_first = sorted(live, key=attrgetter("stamp", "id"))

    def article_of(meta: Meta) -> Article:
        found = articles.get(meta.source)
        if found is not None:
            return found
        if loader is None:
            raise LookupError(f"article {meta.id} was not loaded")
        return loader(meta)

    computed = bases or {}
    wanted = (
        (m.id, computed.get(m.source) or base_slug(article_of(m)))
        for m in oldest_first
        if m.id not in known_slugs
    )
    slugs = assign_slugs(wanted, known_slugs)
    entries = [
        Entry(m, slugs[m.id], articles.get(m.source), loader) for m in reversed(oldest_first)
    ]
    return entries, slugs
