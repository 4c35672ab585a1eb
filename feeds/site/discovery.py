"""sitemap.xml, robots.txt and opml.xml: how crawlers and feed readers find everything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

import lxml.etree

from feeds.config import Config
from feeds.model import Entry
from feeds.read.dates import site_time
from feeds.site.groups import Group
from feeds.site.links import absolute

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


SITEMAP_CHUNK = 10_000


def sitemap_chunks(entries: Sequence[Entry]) -> list[tuple[Entry, ...]]:
    """Article entries oldest first in fixed chunks, so a new article changes only the last."""
    oldest_first = list(reversed(entries))
    return [
        tuple(oldest_first[i : i + SITEMAP_CHUNK])
        for i in range(0, len(oldest_first), SITEMAP_CHUNK)
    ]


def sitemap_index(config: Config, chunks: Sequence[Sequence[Entry]]) -> bytes:
    """sitemap.xml: an index of the page sitemap and the article sitemaps."""
    root = lxml.etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    names = ["sitemap-pages.xml"] + [f"sitemap-{n}.xml" for n in range(1, len(chunks) + 1)]
    dates = [max((c[-1].date for c in chunks), default=None)] + [c[-1].date for c in chunks]
    for name, when in zip(names, dates, strict=True):
        _location(root, "sitemap", config, name, when)
    return _xml(root)


def sitemap(config: Config, locations: Sequence[tuple[str, datetime | None]]) -> bytes:
    """A urlset of (publish-folder path, last modified) pairs."""
    root = lxml.etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS})
    for path, when in locations:
        _location(root, "url", config, path, when)
    return _xml(root)


def _location(
    parent: lxml.etree._Element, tag: str, config: Config, path: str, when: datetime | None
) -> None:
    """A <url> or <sitemap> element: absolute <loc>, and <lastmod> in site time when known."""
    item = lxml.etree.SubElement(parent, f"{{{SITEMAP_NS}}}{tag}")
    lxml.etree.SubElement(item, f"{{{SITEMAP_NS}}}loc").text = absolute(config.site, path)
    if when is not None:
        lastmod = lxml.etree.SubElement(item, f"{{{SITEMAP_NS}}}lastmod")
        lastmod.text = site_time(when, config.site.tz).isoformat()


def _xml(root: lxml.etree._Element) -> bytes:
    lxml.etree.indent(root, space="  ")
    return bytes(
        lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )


def robots_note(config: Config) -> str | None:
    """Why robots.txt is not published (None when it is): crawlers read it only at the root
    of a host, so with a base_url that has a path it would be published where none looks."""
    parts = urlsplit(config.site.base_url)
    if parts.path in ("", "/"):
        return None
    root = f"{parts.scheme}://{parts.netloc}/robots.txt"
    return (
        f"robots.txt not published: site.base_url has a path ({parts.path}) and crawlers read"
        f" it only at {root}; put a Sitemap line for {absolute(config.site, 'sitemap.xml')} there"
    )


def robots(config: Config) -> bytes:
    """Allow everything and point at the sitemap."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {absolute(config.site, 'sitemap.xml')}\n".encode()


def opml(config: Config, groups: Sequence[Group]) -> bytes:
    """An OPML 2.0 subscription list of every feed the site publishes."""
    site = config.site
    root = lxml.etree.Element("opml", version="2.0")
    head = lxml.etree.SubElement(root, "head")
    lxml.etree.SubElement(head, "title").text = site.title
    body = lxml.etree.SubElement(root, "body")
    channels = [(site.title, "", "")] + [
        (g.feed_title(site.title), g.prefix, g.prefix) for g in groups
    ]
    for title, prefix, home in channels:
        lxml.etree.SubElement(
            body,
            "outline",
            type="rss",
            text=title,
            title=title,
            xmlUrl=absolute(site, prefix + "rss.xml"),
            htmlUrl=absolute(site, home),
        )
    return _xml(root)
