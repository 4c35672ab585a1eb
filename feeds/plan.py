"""Every output the publish folder should hold, each with the key of its inputs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from feeds import __version__
from feeds.config import Config
from feeds.errors import SeedError
from feeds.links import IdForm
from feeds.media import Image, copy_output
from feeds.model import Bodies, Entry, Meta
from feeds.outputs import Output, make_key


@dataclass(frozen=True)
class Scope:
    """What an incremental build must plan again; every other output is unchanged.

    feeds.delta works it out from what changed since the last build; None in its place
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


def _everything(number: int) -> bool:
    return True


Planned = Output | str
"""An output to check (and render if its key changed), or the path of one left as it is."""


def resolve_images(
    config: Config, metas: Iterable[Meta]
) -> tuple[dict[str, Image], tuple[SeedError, ...]]:
    """The usable image of every article that names one, by article id; and a warning for
    each image that cannot be used (the article goes out without it)."""
    from feeds.media import resolve_image

    images: dict[str, Image] = {}
    warnings: list[SeedError] = []
    for meta in metas:
        if meta.image:
            try:
                image = resolve_image(config, meta)
            except SeedError as exc:
                warnings.append(exc)
                continue
            if image is not None:
                images[meta.id] = image
    return images, tuple(warnings)


def newest_first(entries: Iterable[Entry], sequence: Mapping[str, int]) -> list[Entry]:
    """The order of every list and feed: newest first by date; among articles of the same
    date (a day's articles without a time are all at 00:00), the one published later
    first; then by stem. `sequence` is the order of first publication (id -> number).

    Feed readers sort by date and can only guess between equal ones; the site's own
    pages and feeds, at least, show a day's articles in the order they came out.
    """
    return sorted(entries, key=lambda e: (e.meta.stamp, sequence[e.id], e.id), reverse=True)


def fingerprint_of(config: Config) -> str:
    """What every page and feed depends on besides the articles."""
    from feeds.templating import templates_fingerprint

    return make_key(
        __version__, repr(config.site), repr(config.feed), templates_fingerprint(config)
    )


def plan(
    config: Config,
    entries: Sequence[Entry],
    bodies: Bodies,
    sequence: Mapping[str, int],
    images: Mapping[str, Image],
    fingerprint: str,
    scope: Scope | None = None,
    id_form: IdForm = "path",
) -> Iterator[Planned]:
    """Pages, feeds (site, tags, sections, archives), discovery files and copied media.

    Rendering is lazy: the caller renders only outputs whose key changed. With a scope,
    outputs outside it come as bare paths (so the caller still knows they are planned).
    fingerprint is fingerprint_of(config), which the caller has already computed.
    id_form is how the site's feed ids are made (recorded in the state: feeds.links.IdForm).
    """
    from feeds import discovery
    from feeds.groups import collect_groups
    from feeds.site import Pages
    from feeds.syndication import Channel, Syndication
    from feeds.templating import site_description

    groups = collect_groups(entries)
    yield from Pages(config, fingerprint, bodies).outputs(entries, groups, images, scope)

    feeds = Syndication(config, images, fingerprint, bodies, id_form)
    site = config.site
    description = site_description(config)
    home = Channel(site.title, description, "", "", "feed")
    archives, newest_archive, unarchived = feeds.archive_outputs(
        home,
        entries,
        sequence,
        _everything if scope is None else scope.wants_archive_page,
    )
    yield from archives
    yield from feeds.outputs(home, entries, newest_archive, unarchived)
    for group in groups:
        channel = Channel(
            group.feed_title(site.title),
            description,
            group.prefix,
            group.prefix,
            f"{group.kind}/{group.slug}",
        )
        if scope is not None and (group.kind, group.slug) not in scope.groups:
            yield from (output.path for output in feeds.outputs(channel, ()))
            continue
        yield from feeds.outputs(channel, group.entries)

    for image in images.values():
        if image.source is not None:
            yield copy_output(config.paths.seeds, image)

    group_list = repr([(g.kind, g.slug, g.name) for g in groups])
    if discovery.robots_note(config) is None:
        yield Output(
            "robots.txt", make_key(fingerprint, "robots"), partial(discovery.robots, config)
        )
    yield Output(
        "opml.xml",
        make_key(fingerprint, "opml", group_list),
        partial(discovery.opml, config, groups),
    )
    chunks = discovery.sitemap_chunks(entries)
    newest = entries[0].date if entries else None
    listing = [("", newest), ("archive/", newest), ("subscribe.html", None)] + [
        (g.prefix, g.entries[0].date) for g in groups
    ]
    yield Output(
        "sitemap-pages.xml",
        make_key(fingerprint, "pages", repr(listing)),
        partial(discovery.sitemap, config, listing),
    )
    sitemap_from = scope.sitemap_from if scope is not None else 1
    for number, chunk in enumerate(chunks, start=1):
        path = f"sitemap-{number}.xml"
        if number < sitemap_from:
            yield path
            continue
        locations = [(e.path, e.date) for e in chunk]
        yield Output(
            path,
            make_key(fingerprint, "sitemap", *(e.path + e.date.isoformat() for e in chunk)),
            partial(discovery.sitemap, config, locations),
        )
    yield Output(
        "sitemap.xml",
        make_key(fingerprint, "index", *(c[-1].path + c[-1].date.isoformat() for c in chunks)),
        partial(discovery.sitemap_index, config, chunks),
    )
