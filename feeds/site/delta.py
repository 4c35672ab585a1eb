"""What a change to the seeds touches: the Scope of an incremental build.

An output's key depends only on the articles it lists (their content key, slug, image)
and on a few site-wide lists that are planned in full every time (newest articles,
months, groups). So an incremental build starts from the articles whose published
form changed, and plans again only:

- their pages and their neighbours' pages, old and new (newer/older links);
- the month pages and the tag and section pages and feeds they were and are listed on;
- the RFC 5005 archive pages from the first one whose articles moved (only their own
  page when an article kept its place), and the last page when the count changed;
- the article sitemaps from the first one whose articles moved.

tests/test_incremental.py checks the result against cold builds byte for byte.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from feeds.model import Entry, Meta
from feeds.read.corpus import Corpus
from feeds.site.discovery import SITEMAP_CHUNK
from feeds.site.groups import group_slug
from feeds.site.media import Image
from feeds.store.snapshot import Snapshot


@dataclass(frozen=True)
class Scope:
    """What an incremental build must plan again; every other output is unchanged.

    scope_of works it out from what changed since the last build; None in its place
    means a full plan.
    """

    articles: frozenset[str]  # ids whose page or media may have changed
    months: frozenset[str]  # YYYY-MM archive pages that may have changed
    groups: frozenset[tuple[str, str]]  # (kind, slug) of tags and sections that may have changed
    archive_from: int  # the first RFC 5005 archive page (1-based) from which all may have changed
    archive_pages: frozenset[int]  # other archive pages that may have changed
    sitemap_from: int  # the first article sitemap (1-based) that may have changed

    def wants_archive_page(self, number: int) -> bool:
        """Whether archive page `number` may have changed."""
        return number >= self.archive_from or number in self.archive_pages


def scope_of(
    previous: Snapshot,
    corpus: Corpus,
    entries: Sequence[Entry],
    images: Mapping[str, Image],
    sequence: Mapping[str, int],
    page_size: int,
) -> Scope:
    """The outputs this build's changes can touch (entries newest first)."""
    old_order = previous.order
    old_pos = {aid: index for index, aid in enumerate(old_order)}
    new_pos = {entry.id: index for index, entry in enumerate(entries)}
    current = {meta.id: meta for meta in corpus.metas}

    # Ids whose published form may differ: published, withdrawn, fallen due or held
    # back; read again, moved or deleted; or their image changed.
    changed = set(old_pos).symmetric_difference(new_pos)
    old_meta: dict[str, Meta] = {}
    for rel in (*corpus.changed, *corpus.removed):
        row = previous.rows.get(rel)
        if row is not None and row.meta is not None:
            old_meta[row.meta.id] = row.meta
            changed.add(row.meta.id)
    if corpus.changed:
        reread = set(corpus.changed)
        changed.update(meta.id for meta in corpus.metas if meta.source in reread)
    for aid in {*images, *previous.images}:
        image = images.get(aid)
        if (repr(image) if image is not None else None) != previous.images.get(aid):
            changed.add(aid)

    articles: set[str] = set()
    months: set[str] = set()
    groups: set[tuple[str, str]] = set()
    sitemap_first = len(entries) + len(old_order)
    for aid in changed:
        articles.add(aid)
        if aid in new_pos:
            index = new_pos[aid]
            articles.update(entries[i].id for i in (index - 1, index + 1) if 0 <= i < len(entries))
            sitemap_first = min(sitemap_first, len(entries) - 1 - index)
            meta = current[aid]
            months.add(meta.month)
            groups.update(_groups(meta))
        if aid in old_pos:
            index = old_pos[aid]
            articles.update(old_order[i] for i in (index - 1, index + 1) if 0 <= i < len(old_order))
            sitemap_first = min(sitemap_first, len(old_order) - 1 - index)
            before = old_meta.get(aid) or current.get(aid)
            if before is not None:
                months.add(before.month)
                groups.update(_groups(before))

    archive_from, archive_pages = _archive_scope(
        previous, entries, changed, old_pos, new_pos, sequence, page_size
    )
    return Scope(
        articles=frozenset(articles),
        months=frozenset(months),
        groups=frozenset(groups),
        archive_from=archive_from,
        archive_pages=frozenset(archive_pages),
        sitemap_from=sitemap_first // SITEMAP_CHUNK + 1,
    )


def _groups(meta: Meta) -> Iterable[tuple[str, str]]:
    for tag in meta.tags:
        yield ("tag", group_slug(tag))
    if meta.section:
        yield ("section", group_slug(meta.section))


def _archive_scope(
    previous: Snapshot,
    entries: Sequence[Entry],
    changed: set[str],
    old_pos: Mapping[str, int],
    new_pos: Mapping[str, int],
    sequence: Mapping[str, int],
    page_size: int,
) -> tuple[int, set[int]]:
    """(first page from which all may have changed, other pages that may have changed).

    Archive pages hold the articles in publication order (sequence), page_size each.
    """
    old_count = len(previous.order) // page_size
    new_count = len(entries) // page_size
    first = min(old_count, new_count) if old_count != new_count else new_count + 1
    ranks = sorted(sequence[entry.id] for entry in entries)
    pages: set[int] = set()
    for aid in changed:
        number = bisect_left(ranks, sequence.get(aid, ranks[-1] + 1 if ranks else 0))
        page = number // page_size + 1
        if aid in old_pos and aid in new_pos:
            pages.add(page)  # it kept its place: only its own page
        else:
            first = min(first, page)  # the articles after it moved by one
    return first, pages
