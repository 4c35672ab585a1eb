"""Every output the publish folder should hold, each with the key of its inputs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial

from feeds import __version__
from feeds.config import Config
from feeds.errors import SeedError
from feeds.model import Bodies, Entry, Meta, Output, make_key
from feeds.site.delta import Scope
from feeds.site.groups import Group
from feeds.site.links import IdForm
from feeds.site.media import Image, copy_output


def _everything(number: int) -> bool:
    return True


Planned = Output | str
"""An output to check (and render if its key changed), or the path of one left as it is."""


def resolve_images(
    config: Config, metas: Iterable[Meta]
) -> tuple[dict[str, Image], tuple[SeedError, ...]]:
    """The usable image of every article that names one, by article id; and a warning for
    each image that cannot be used (the article goes out without it)."""
    from feeds.site.media import resolve_image

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
    from feeds.site.templating import templates_fingerprint

    parts = [__version__, repr(config.site), repr(config.feed), templates_fingerprint(config)]
    if config.preview is not None:  # marked pages differ; a normal build's keys stay as they were
        parts.append(f"preview drafts={config.preview.drafts}")
    return make_key(*parts)


def plan(
    config: Config,
    entries: Sequence[Entry],
    bodies: Bodies,
    sequence: Mapping[str, int],
    images: Mapping[str, Image],
    fingerprint: str,
    scope: Scope | None = None,
    id_form: IdForm = "path",
    media: Mapping[str, Image] | None = None,
) -> Iterator[Planned]:
    """Pages, feeds (site, tags, sections, archives), discovery files and copied media.

    media: the other local images Markdown bodies show, by publish path.
    Rendering is lazy: the caller renders only outputs whose key changed. With a scope,
    outputs outside it come as bare paths (so the caller still knows they are planned).
    fingerprint is fingerprint_of(config), which the caller has already computed.
    id_form is how the site's feed ids are made (recorded in the state: feeds.site.links.IdForm).
    """
    from feeds.site.groups import collect_groups
    from feeds.site.pages import Pages

    groups = collect_groups(entries)
    yield from Pages(config, fingerprint, bodies).outputs(entries, groups, images, scope)
    yield from _feeds(
        config, entries, groups, bodies, sequence, images, fingerprint, scope, id_form
    )
    for image in (*images.values(), *(media or {}).values()):
        if image.source is not None:
            yield copy_output(config.paths.seeds, image)
    yield from _discovery(config, entries, groups, fingerprint, scope)


def _feeds(
    config: Config,
    entries: Sequence[Entry],
    groups: Sequence[Group],
    bodies: Bodies,
    sequence: Mapping[str, int],
    images: Mapping[str, Image],
    fingerprint: str,
    scope: Scope | None,
    id_form: IdForm,
) -> Iterator[Planned]:
    """The site's feeds with their RFC 5005 archive pages, then each group's feeds."""
    from feeds.site.syndication import Channel, Syndication
    from feeds.site.templating import site_description

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


def _discovery(
    config: Config,
    entries: Sequence[Entry],
    groups: Sequence[Group],
    fingerprint: str,
    scope: Scope | None,
) -> Iterator[Planned]:
    """robots.txt, the OPML list of feeds and the sitemaps."""
    from feeds.site import discovery

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
