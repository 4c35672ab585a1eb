"""Every output the publish folder should hold, each with the key of its inputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import partial

from feeds import __version__
from feeds.config import Config
from feeds.model import Bodies, Entry
from feeds.outputs import Output, make_key


def plan(
    config: Config,
    entries: Sequence[Entry],
    keys: Mapping[str, str],
    bodies: Bodies,
    sequence: Mapping[str, int],
) -> Iterator[Output]:
    """Pages, feeds (site, tags, sections, archives), discovery files and copied media.

    Rendering is lazy: the caller renders only outputs whose key changed.
    """
    from feeds import discovery
    from feeds.groups import collect_groups
    from feeds.media import Image, resolve_image
    from feeds.site import Pages
    from feeds.syndication import Channel, Syndication
    from feeds.templating import templates_fingerprint

    fingerprint = make_key(
        __version__, repr(config.site), repr(config.feed), templates_fingerprint(config)
    )
    images: dict[str, Image] = {}
    for entry in entries:
        if entry.article.image:
            image = resolve_image(config, entry.article)
            if image is not None:
                images[entry.id] = image
    groups = collect_groups(entries)
    yield from Pages(config, fingerprint, bodies).outputs(entries, keys, groups, images)

    feeds = Syndication(config, keys, images, fingerprint, bodies)
    site = config.site
    home = Channel(site.title, site.description, "", "", "feed")
    archives, newest_archive, unarchived = feeds.archive_outputs(home, entries, sequence)
    yield from archives
    yield from feeds.outputs(home, entries, newest_archive, unarchived)
    for group in groups:
        channel = Channel(
            group.feed_title(site.title),
            site.description,
            group.prefix,
            group.prefix,
            f"{group.kind}/{group.slug}",
        )
        yield from feeds.outputs(channel, group.entries)

    for image in images.values():
        if image.source is not None:
            st = image.source.stat()
            yield Output(
                image.path,
                make_key("media", str(image.source), str(st.st_size), str(st.st_mtime_ns)),
                image.source.read_bytes,
            )

    group_list = repr([(g.kind, g.slug, g.name) for g in groups])
    yield Output("robots.txt", make_key(fingerprint, "robots"), partial(discovery.robots, config))
    yield Output(
        "opml.xml",
        make_key(fingerprint, "opml", group_list),
        partial(discovery.opml, config, groups),
    )
    chunks = discovery.sitemap_chunks(entries)
    newest = entries[0].article.date if entries else None
    listing = [("", newest), ("archive/", newest), ("subscribe.html", None)] + [
        (g.prefix, g.entries[0].article.date) for g in groups
    ]
    yield Output(
        "sitemap-pages.xml",
        make_key(fingerprint, "pages", repr(listing)),
        partial(discovery.sitemap, config, listing),
    )
    for number, chunk in enumerate(chunks, start=1):
        locations = [(e.path, e.article.date) for e in chunk]
        yield Output(
            f"sitemap-{number}.xml",
            make_key(fingerprint, "sitemap", *(e.path + e.article.date.isoformat() for e in chunk)),
            partial(discovery.sitemap, config, locations),
        )
    yield Output(
        "sitemap.xml",
        make_key(
            fingerprint, "index", *(c[-1].path + c[-1].article.date.isoformat() for c in chunks)
        ),
        partial(discovery.sitemap_index, config, chunks),
    )
