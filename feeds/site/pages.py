"""Entries -> the HTML pages of the site (Jinja): index, archive, articles, tags, subscribe."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import TYPE_CHECKING, Any

import jinja2

from feeds.config import Config
from feeds.model import Bodies, Entry, Output, make_key
from feeds.site.content import blocks_to_html
from feeds.site.groups import Group
from feeds.site.links import absolute, relative
from feeds.site.media import Image

if TYPE_CHECKING:
    from feeds.site.delta import Scope


@dataclass(frozen=True)
class Month:
    """One archive page: the articles of a calendar month (site time)."""

    key: str
    entries: tuple[Entry, ...]

    @property
    def path(self) -> str:
        """Where the month's page lives."""
        return f"archive/{self.key}.html"


@dataclass(frozen=True)
class Alternate:
    """A feed announced with <link rel="alternate"> on a page."""

    title: str
    mime: str
    path: str


def months(entries: Sequence[Entry]) -> list[Month]:
    """Group entries (newest first) by month in the site timezone."""
    return [Month(key, tuple(group)) for key, group in groupby(entries, key=lambda e: e.meta.month)]


def alternates(title: str, prefix: str) -> list[Alternate]:
    """The three feeds of a channel, for autodiscovery."""
    return [
        Alternate(f"{title} (RSS)", "application/rss+xml", prefix + "rss.xml"),
        Alternate(f"{title} (Atom)", "application/atom+xml", prefix + "atom.xml"),
        Alternate(f"{title} (JSON Feed)", "application/feed+json", prefix + "feed.json"),
    ]


def canonical_path(page: str) -> str:
    """The path a page is known by: a folder's index.html is the folder (as in the sitemap)."""
    if page.startswith("articles/"):
        return page  # an article slugged "index" is still articles/index.html
    if page == "index.html" or page.endswith("/index.html"):
        return page.removesuffix("index.html")
    return page


def _entry_key(entries: Sequence[Entry]) -> Iterator[str]:
    return (e.meta.key + e.slug for e in entries)


class Pages:
    """Renders pages with a shared Jinja environment and common context."""

    def __init__(self, config: Config, fingerprint: str, bodies: Bodies) -> None:
        self.config = config
        self.fingerprint = fingerprint
        self.bodies = bodies
        self.site_feeds = alternates(config.site.title, "")

    @cached_property
    def env(self) -> jinja2.Environment:
        """The Jinja environment, made only when a page is actually rendered."""
        from feeds.site.templating import make_env

        return make_env(self.config)

    def render(self, template: str, page: str, **context: Any) -> bytes:
        """Render a template for the page at publish path `page`."""
        site = self.config.site

        def link(path: str) -> str:
            return relative(page, path)

        context.setdefault("alternates", self.site_feeds)
        html = self.env.get_template(template).render(
            site=site,
            feed=self.config.feed,
            page=page,
            link=link,
            absolute=lambda path: absolute(site, path),
            canonical=absolute(site, canonical_path(page)),
            **context,
        )
        return html.encode("utf-8")

    def _page(self, path: str, key: str, template: str, **context: Any) -> Output:
        def render() -> bytes:
            return self.render(template, path, **context)

        return Output(path, make_key(self.fingerprint, template, key), render)

    def outputs(
        self,
        entries: Sequence[Entry],
        groups: Sequence[Group],
        images: Mapping[str, Image],
        scope: Scope | None = None,
    ) -> Iterator[Output | str]:
        """Every page of the site; entries newest first. Pages outside the scope (when
        given) come as bare paths: they are unchanged."""
        yield self._page("assets/style.css", "", "style.css")
        yield self._page("feed.xsl", "", "feed.xsl")
        for index, entry in enumerate(entries):
            if scope is not None and entry.id not in scope.articles:
                yield entry.path
                continue
            newer = entries[index - 1] if index > 0 else None
            older = entries[index + 1] if index + 1 < len(entries) else None
            image = images.get(entry.id)
            key = make_key(
                self.fingerprint,
                "article",
                entry.meta.key,
                entry.slug,
                # A neighbour's content key stands for its title (the page links to it).
                f"{newer.slug}\x00{newer.meta.key}" if newer else "",
                f"{older.slug}\x00{older.meta.key}" if older else "",
                repr(image) if image else "",
            )
            yield self._article(entry, key, newer, older, image)
        newest = tuple(entries[: self.config.feed.page_size])
        all_months = months(entries)
        month_list = repr([(m.key, len(m.entries)) for m in all_months])
        group_list = repr([(g.kind, g.slug, g.name, len(g.entries)) for g in groups])
        yield self._page(
            "index.html",
            make_key(*_entry_key(newest), month_list, group_list),
            "index.html",
            entries=newest,
            total=len(entries),
            groups=groups,
        )
        yield self._page(
            "archive/index.html",
            make_key(month_list, group_list),
            "archive.html",
            months=all_months,
            groups=groups,
        )
        for month in all_months:
            if scope is not None and month.key not in scope.months:
                yield month.path
                continue
            yield self._page(
                month.path, make_key(*_entry_key(month.entries)), "month.html", month=month
            )
        for group in groups:
            if scope is not None and (group.kind, group.slug) not in scope.groups:
                yield group.page
                continue
            feeds = alternates(group.feed_title(self.config.site.title), group.prefix)
            yield self._page(
                group.page,
                make_key(group.kind, group.name, *_entry_key(group.entries)),
                "group.html",
                group=group,
                alternates=[*feeds, *self.site_feeds],
                group_feeds=feeds,
            )
        yield self._page(
            "subscribe.html",
            group_list,
            "subscribe.html",
            groups=groups,
            feed_links=_reader_links,
        )

    def _article(
        self,
        entry: Entry,
        key: str,
        newer: Entry | None,
        older: Entry | None,
        image: Image | None,
    ) -> Output:
        def render() -> bytes:
            return self.render(
                "article.html",
                entry.path,
                entry=entry,
                article=entry.article,
                body=blocks_to_html(self.bodies(entry.article)),
                newer=newer,
                older=older,
                image=image,
            )

        return Output(entry.path, key, render)


def _reader_links(url: str) -> list[tuple[str, str]]:
    """One-click subscribe links for common feed readers.

    No `feed:https://…` link for native readers: it is not a valid URL (the Nu HTML checker
    refuses it) and `feed://` would send them to plain http; they take the address to copy.
    """
    from urllib.parse import quote

    return [
        ("Feedly", "https://feedly.com/i/subscription/feed/" + quote(url, safe="")),
        ("Inoreader", "https://www.inoreader.com/?add_feed=" + quote(url, safe="")),
    ]
