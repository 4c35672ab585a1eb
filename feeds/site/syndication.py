"""Entries -> rss.xml, atom.xml (feedgen), feed.json (JSON Feed 1.1) and RFC 5005 archives."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.etree  # feedgen.util uses lxml.etree without importing it
from feedgen.feed import FeedGenerator
from markupsafe import escape

from feeds import __version__
from feeds.config import Config
from feeds.model import Bodies, Entry, Output, make_key
from feeds.read.dates import site_time
from feeds.site.content import blocks_to_html
from feeds.site.links import IdForm, absolute, relative, tag_uri
from feeds.site.media import Image

GENERATOR_URI = "https://pypi.org/project/feeds/"
ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
RSS_MIME = "application/rss+xml"
ATOM_MIME = "application/atom+xml"


@dataclass(frozen=True)
class Channel:
    """One set of feeds: the whole site, or a tag's or section's slice of it."""

    title: str
    description: str
    home: str  # publish-folder path of the HTML page this channel mirrors
    prefix: str  # folder the feeds are written to ('' or 'tags/x/')
    id_suffix: str  # specific part of the channel's tag: URI


@dataclass(frozen=True)
class ArchiveLinks:
    """RFC 5005 links of one feed document (paths in the publish folder)."""

    prev: str = ""
    next: str = ""
    current: str = ""
    is_archive: bool = False


class Syndication:
    """Builds every feed of the site from entries, their keys and their images."""

    def __init__(
        self,
        config: Config,
        images: Mapping[str, Image],
        fingerprint: str,
        bodies: Bodies,
        id_form: IdForm = "path",
    ) -> None:
        self.bodies = bodies
        self.id_form = id_form
        self.config = config
        self.images = images
        self.fingerprint = fingerprint

    def _key(self, *parts: str, entries: Sequence[Entry]) -> str:
        return make_key(
            self.fingerprint,
            self.id_form,
            *parts,
            *(e.meta.key + e.slug + repr(self.images.get(e.id)) for e in entries),
        )

    def _id(self, specific: str) -> str:
        return tag_uri(self.config.site, specific, self.id_form)

    def outputs(
        self,
        channel: Channel,
        entries: Sequence[Entry],
        archive_prev: str = "",
        unarchived: Sequence[Entry] = (),
    ) -> Iterator[Output]:
        """rss.xml, atom.xml and feed.json: the newest feed.max_items entries, plus any
        unarchived ones older than those (a late back-dated article), so that the feed and
        the archive pages together hold every article."""
        newest = tuple(entries[: self.config.feed.max_items])
        shown = {e.id for e in newest}
        late = [e for e in unarchived if e.id not in shown]
        if late:
            newest = tuple(
                sorted([*newest, *late], key=lambda e: (e.meta.stamp, e.id), reverse=True)
            )
        key = self._key(repr(channel), archive_prev, entries=newest)
        links = ArchiveLinks(prev=archive_prev)
        yield Output(channel.prefix + "rss.xml", key, lambda: self.rss(channel, newest, links))
        yield Output(
            channel.prefix + "atom.xml",
            key,
            lambda: self.atom(channel, channel.prefix + "atom.xml", newest, links),
        )
        yield Output(channel.prefix + "feed.json", key, lambda: self.json_feed(channel, newest))

    def archive_outputs(
        self,
        channel: Channel,
        entries: Sequence[Entry],
        sequence: Mapping[str, int],
        wanted: Callable[[int], bool] = lambda number: True,
    ) -> tuple[list[Output | str], str, tuple[Entry, ...]]:
        """RFC 5005 archive pages, the newest page's path, and the articles not yet archived.

        Articles fill pages of feed.max_items in the order they were first published
        (`sequence`: id -> publication number), and only full pages are published: a
        page's articles never change, even when a back-dated article arrives late (it
        joins the unarchived tail). The tail belongs in the subscription feed. Pages
        whose number is not `wanted` are known unchanged and come as bare paths.
        """
        size = self.config.feed.max_items
        ordered = sorted(entries, key=lambda e: (sequence[e.id], e.meta.stamp, e.id))
        count = len(ordered) // size
        outputs: list[Output | str] = []
        for number in range(1, count + 1):
            path = f"archive/feed-{number}.xml"
            if not wanted(number):
                outputs.append(path)
                continue
            page = ordered[(number - 1) * size : number * size]
            links = ArchiveLinks(
                prev=f"archive/feed-{number - 1}.xml" if number > 1 else "",
                next=f"archive/feed-{number + 1}.xml" if number < count else "",
                current="atom.xml",
                is_archive=True,
            )
            newest_first = tuple(
                sorted(page, key=lambda e: (e.meta.stamp, sequence[e.id], e.id), reverse=True)
            )
            key = self._key("archive", repr(links), entries=newest_first)
            outputs.append(
                Output(path, key, self._archive_renderer(channel, path, newest_first, links))
            )
        tail = tuple(ordered[count * size :])
        return outputs, (f"archive/feed-{count}.xml" if count else ""), tail

    def _archive_renderer(
        self, channel: Channel, path: str, entries: tuple[Entry, ...], links: ArchiveLinks
    ) -> Callable[[], bytes]:
        def render() -> bytes:
            return self.atom(channel, path, entries, links)

        return render

    def updated(self, entries: Sequence[Entry]) -> datetime:
        """The feed's last change: the newest article's date (never the wall clock)."""
        tz = self.config.site.tz
        if entries:
            return site_time(max(e.date for e in entries), tz)
        return site_time(datetime(self.config.site.id_year, 1, 1, tzinfo=UTC), tz)

    def _generator(
        self, channel: Channel, entries: Sequence[Entry], self_path: str, mime: str
    ) -> FeedGenerator:
        config = self.config
        site = config.site
        fg = FeedGenerator()
        fg.load_extension("dc", atom=False, rss=True)
        fg.load_extension("media", atom=True, rss=True)
        fg.id(self._id(channel.id_suffix))
        fg.title(channel.title)
        fg.subtitle(channel.description)  # RSS <description> as well
        fg.language(site.language)
        fg.author({"name": site.author})
        fg.generator("feeds", __version__, GENERATOR_URI)
        stamp = self.updated(entries)
        fg.updated(stamp)
        fg.lastBuildDate(stamp)
        if config.feed.websub_hub:
            fg.link(href=config.feed.websub_hub, rel="hub")
        fg.link(href=absolute(site, self_path), rel="self", type=mime)
        # feedgen makes the RSS <link> the last link() call: alternate goes last.
        fg.link(href=absolute(site, channel.home), rel="alternate", type="text/html")
        for entry in entries:
            self._entry(fg, entry)
        return fg

    def _entry(self, fg: FeedGenerator, entry: Entry) -> None:
        site = self.config.site
        article = entry.article
        fe = fg.add_entry(order="append")  # feedgen prepends by default
        fe.id(self._id(article.id))
        fe.guid(self._id(article.id), permalink=False)
        fe.title(article.title)
        fe.link(href=absolute(site, entry.path), rel="alternate", type="text/html")
        when = site_time(article.date, site.tz)
        fe.published(when)
        fe.updated(max(when, article.updated) if article.updated else when)
        fe.pubDate(when)
        # RSS <description> is HTML, so the plain-text summary goes in escaped (Atom: type=html).
        fe.summary(str(escape(article.summary or article.title)), type="html")
        if self.config.feed.full_content:
            fe.content(str(blocks_to_html(self.bodies(article))), type="html")
        author = article.author or site.author
        fe.author({"name": author})
        fe.dc.dc_creator(author)
        if article.tags:
            # In one call: feedgen rebuilds its whole category list on each one.
            fe.category([{"term": tag, "label": tag} for tag in article.tags])
        image = self.images.get(article.id)
        if image is not None:
            if image.source is not None:
                fe.enclosure(image.url, str(image.length), image.mime)
            fe.media.thumbnail({"url": image.url})
            fe.media.content({"url": image.url, "type": image.mime, "medium": "image"})

    def rss(self, channel: Channel, entries: Sequence[Entry], links: ArchiveLinks) -> bytes:
        """RSS 2.0 with atom:link rel=self (and hub), non-permalink guids, content:encoded."""
        path = channel.prefix + "rss.xml"
        fg = self._generator(channel, entries, path, RSS_MIME)
        root = lxml.etree.fromstring(fg.rss_str(pretty=False, xml_declaration=False))
        rss_channel = root.find("channel")
        self_link = rss_channel.find(f"{{{ATOM_NS}}}link")
        extra = []
        if self.config.feed.websub_hub:
            extra.append({"href": self.config.feed.websub_hub, "rel": "hub"})
        if links.prev:
            extra.append({"href": absolute(self.config.site, links.prev), "rel": "prev-archive"})
        for attrs in reversed(extra):
            self_link.addnext(lxml.etree.Element(f"{{{ATOM_NS}}}link", attrs))
        return self._finish(root, path)

    def atom(
        self, channel: Channel, path: str, entries: Sequence[Entry], links: ArchiveLinks
    ) -> bytes:
        """Atom 1.0 (RFC 4287) with tag: ids, alternate/self links and RFC 5005 links."""
        fg = self._generator(channel, entries, path, ATOM_MIME)
        root = lxml.etree.fromstring(fg.atom_str(pretty=False, xml_declaration=False))
        # feedgen writes entry links with href only (it reads rel, type... back from the new
        # element instead of the dict): restore them, in the order they were given.
        for element, fe in zip(root.iterfind(f"{{{ATOM_NS}}}entry"), fg.entry(), strict=True):
            for link, wanted in zip(element.iterfind(f"{{{ATOM_NS}}}link"), fe.link(), strict=True):
                for key in ("rel", "type", "hreflang", "title", "length"):
                    if wanted.get(key):
                        link.set(key, str(wanted[key]))
        for element, entry in zip(root.iterfind(f"{{{ATOM_NS}}}entry"), entries, strict=True):
            image = self.images.get(entry.id)
            if image is not None and image.source is None:
                # A remote image's size is unknown: fine for an Atom enclosure (length is
                # optional), not for RSS, so it is added here rather than by feedgen.
                enclosure = {"href": image.url, "rel": "enclosure", "type": image.mime}
                element.find(f"{{{ATOM_NS}}}link").addnext(
                    lxml.etree.Element(f"{{{ATOM_NS}}}link", enclosure)
                )
        site = self.config.site
        anchor = root.find(f"{{{ATOM_NS}}}link")
        added = []
        if links.is_archive:
            archive = lxml.etree.Element(f"{{{FH_NS}}}archive", nsmap={"fh": FH_NS})
            added.append(archive)
        for rel, target in (
            ("current", links.current),
            ("prev-archive", links.prev),
            ("next-archive", links.next),
        ):
            if target:
                added.append(
                    lxml.etree.Element(
                        f"{{{ATOM_NS}}}link", {"href": absolute(site, target), "rel": rel}
                    )
                )
        for element in reversed(added):
            anchor.addprevious(element)
        return self._finish(root, path)

    def _finish(self, root: lxml.etree._Element, path: str) -> bytes:
        """Pretty-print with the xml-stylesheet instruction that points at feed.xsl."""
        xsl = relative(path, "feed.xsl")
        root.addprevious(
            lxml.etree.ProcessingInstruction("xml-stylesheet", f'href="{xsl}" type="text/xsl"')
        )
        lxml.etree.indent(root, space="  ")
        return bytes(
            lxml.etree.tostring(
                root.getroottree(), xml_declaration=True, encoding="UTF-8", pretty_print=True
            )
        )

    def json_feed(self, channel: Channel, entries: Sequence[Entry]) -> bytes:
        """JSON Feed 1.1, written directly."""
        config = self.config
        site = config.site
        tz = site.tz
        items = []
        for entry in entries:
            article = entry.article
            when = site_time(article.date, tz).isoformat()
            item: dict[str, object] = {
                "id": self._id(article.id),
                "url": absolute(site, entry.path),
                "title": article.title,
                "summary": article.summary or article.title,
                "date_published": when,
                "date_modified": (
                    max(article.date, article.updated).astimezone(tz).isoformat()
                    if article.updated
                    else when
                ),
                "authors": [{"name": article.author or site.author}],
            }
            if config.feed.full_content:
                item["content_html"] = str(blocks_to_html(self.bodies(article)))
            else:
                item["content_text"] = article.summary or article.title
            image = self.images.get(article.id)
            if image is not None:
                item["image"] = image.url
            if article.tags:
                item["tags"] = list(article.tags)
            if article.lang:
                item["language"] = article.lang
            items.append(item)
        document: dict[str, object] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": channel.title,
            "home_page_url": absolute(site, channel.home),
            "feed_url": absolute(site, channel.prefix + "feed.json"),
            "description": channel.description,
            "language": site.language,
            "authors": [{"name": site.author}],
        }
        if config.feed.websub_hub:
            document["hubs"] = [{"type": "WebSub", "url": config.feed.websub_hub}]
        document["items"] = items
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
