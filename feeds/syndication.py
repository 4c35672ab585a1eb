"""Entries -> rss.xml, atom.xml (feedgen) and feed.json (JSON Feed 1.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.etree  # noqa: F401  feedgen.util uses lxml.etree without importing it
from feedgen.feed import FeedGenerator

from feeds import __version__
from feeds.config import Config
from feeds.content import blocks_to_html
from feeds.links import absolute, tag_uri
from feeds.model import Entry
from feeds.outputs import Output, make_key

GENERATOR_URI = "https://pypi.org/project/feeds/"


@dataclass(frozen=True)
class Channel:
    """One set of feeds: the whole site, or a tag's slice of it."""

    title: str
    description: str
    home: str  # publish-folder path of the HTML page this channel mirrors
    prefix: str  # folder the three feeds are written to ('' or 'tags/x/')
    id_suffix: str  # specific part of the channel's tag: URI


def feed_outputs(
    config: Config,
    channel: Channel,
    entries: Sequence[Entry],
    keys: Mapping[str, str],
    fingerprint: str,
) -> Iterator[Output]:
    """rss.xml, atom.xml and feed.json for the newest feed.max_items entries (newest first)."""
    newest = tuple(entries[: config.feed.max_items])
    key = make_key(fingerprint, "feed", repr(channel), *(keys[e.id] + e.slug for e in newest))
    yield Output(channel.prefix + "rss.xml", key, lambda: rss(config, channel, newest))
    yield Output(channel.prefix + "atom.xml", key, lambda: atom(config, channel, newest))
    yield Output(channel.prefix + "feed.json", key, lambda: json_feed(config, channel, newest))


def updated(config: Config, entries: Sequence[Entry]) -> datetime:
    """The feed's last change: the newest article's date (never the wall clock)."""
    if entries:
        return max(e.article.date for e in entries).astimezone(config.site.tz)
    return datetime(config.site.id_year, 1, 1, tzinfo=UTC).astimezone(config.site.tz)


def _generator(
    config: Config, channel: Channel, entries: Sequence[Entry], self_name: str, mime: str
) -> FeedGenerator:
    site = config.site
    tz = site.tz
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(tag_uri(site, channel.id_suffix))
    fg.title(channel.title)
    fg.subtitle(channel.description)  # RSS <description> as well
    fg.language(site.language)
    fg.author({"name": site.author})
    fg.generator("feeds", __version__, GENERATOR_URI)
    stamp = updated(config, entries)
    fg.updated(stamp)
    fg.lastBuildDate(stamp)
    if config.feed.websub_hub:
        fg.link(href=config.feed.websub_hub, rel="hub")
    fg.link(href=absolute(site, channel.prefix + self_name), rel="self", type=mime)
    # feedgen makes the RSS <link> the last link() call: alternate goes last.
    fg.link(href=absolute(site, channel.home), rel="alternate", type="text/html")
    for entry in entries:
        article = entry.article
        url = absolute(site, entry.path)
        fe = fg.add_entry(order="append")  # feedgen prepends by default
        fe.id(tag_uri(site, article.id))
        fe.guid(tag_uri(site, article.id), permalink=False)
        fe.title(article.title)
        fe.link(href=url, rel="alternate", type="text/html")
        when = article.date.astimezone(tz)
        fe.published(when)
        fe.updated(when)
        fe.pubDate(when)
        fe.summary(article.summary or article.title)
        if config.feed.full_content:
            fe.content(str(blocks_to_html(article.blocks)), type="html")
        author = article.author or site.author
        fe.author({"name": author})
        fe.dc.dc_creator(author)
        for tag in article.tags:
            fe.category(term=tag, label=tag)
    return fg


def rss(config: Config, channel: Channel, entries: Sequence[Entry]) -> bytes:
    """RSS 2.0 with atom:link rel=self, non-permalink guids, content:encoded."""
    fg = _generator(config, channel, entries, "rss.xml", "application/rss+xml")
    return bytes(fg.rss_str(pretty=True, xml_declaration=True, encoding="UTF-8"))


def atom(config: Config, channel: Channel, entries: Sequence[Entry]) -> bytes:
    """Atom 1.0 (RFC 4287) with tag: ids, alternate and self links."""
    fg = _generator(config, channel, entries, "atom.xml", "application/atom+xml")
    return bytes(fg.atom_str(pretty=True, xml_declaration=True, encoding="UTF-8"))


def json_feed(config: Config, channel: Channel, entries: Sequence[Entry]) -> bytes:
    """JSON Feed 1.1, written directly."""
    site = config.site
    tz = site.tz
    items = []
    for entry in entries:
        article = entry.article
        item: dict[str, object] = {
            "id": tag_uri(site, article.id),
            "url": absolute(site, entry.path),
            "title": article.title,
            "summary": article.summary or article.title,
            "date_published": article.date.astimezone(tz).isoformat(),
            "date_modified": article.date.astimezone(tz).isoformat(),
            "authors": [{"name": article.author or site.author}],
        }
        if config.feed.full_content:
            item["content_html"] = str(blocks_to_html(article.blocks))
        else:
            item["content_text"] = article.summary or article.title
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
