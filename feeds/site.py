"""Entries -> the HTML pages of the site (Jinja): index, archive, one page per article."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import groupby
from typing import Any

import jinja2

from feeds.config import Config
from feeds.content import blocks_to_html
from feeds.links import absolute, relative
from feeds.model import Entry
from feeds.outputs import Output, make_key


@dataclass(frozen=True)
class Month:
    """One archive page: the articles of a calendar month (site time)."""

    key: str
    entries: tuple[Entry, ...]

    @property
    def path(self) -> str:
        """Where the month's page lives."""
        return f"archive/{self.key}.html"


def months(config: Config, entries: Sequence[Entry]) -> list[Month]:
    """Group entries (newest first) by month in the site timezone."""
    tz = config.site.tz

    def month_of(entry: Entry) -> str:
        return entry.article.date.astimezone(tz).strftime("%Y-%m")

    return [Month(key, tuple(group)) for key, group in groupby(entries, key=month_of)]


class Pages:
    """Renders pages with a shared Jinja environment and common context."""

    def __init__(self, config: Config, fingerprint: str) -> None:
        self.config = config
        self.fingerprint = fingerprint

    @cached_property
    def env(self) -> jinja2.Environment:
        """The Jinja environment, made only when a page is actually rendered."""
        from feeds.templating import make_env

        return make_env(self.config)

    def render(self, template: str, page: str, **context: Any) -> bytes:
        """Render a template for the page at publish path `page`."""
        site = self.config.site

        def link(path: str) -> str:
            return relative(page, path)

        html = self.env.get_template(template).render(
            site=site,
            feed=self.config.feed,
            page=page,
            link=link,
            canonical=absolute(site, "" if page == "index.html" else page),
            **context,
        )
        return html.encode("utf-8")

    def outputs(self, entries: Sequence[Entry], keys: Mapping[str, str]) -> Iterator[Output]:
        """Every page of the site; entries newest first, keys: article id -> content key."""
        fp = self.fingerprint
        yield Output("assets/style.css", make_key(fp, "css"), self._css)
        for index, entry in enumerate(entries):
            newer = entries[index - 1] if index > 0 else None
            older = entries[index + 1] if index + 1 < len(entries) else None
            key = make_key(
                fp,
                keys[entry.id],
                entry.slug,
                *(f"{e.slug}\x00{e.article.title}" if e else "" for e in (newer, older)),
            )
            yield Output(entry.path, key, self._article_renderer(entry, newer, older))
        newest = tuple(entries[: self.config.feed.page_size])
        all_months = months(self.config, entries)
        month_list = [(m.key, len(m.entries)) for m in all_months]
        yield Output(
            "index.html",
            make_key(fp, "index", *(keys[e.id] + e.slug for e in newest), repr(month_list)),
            lambda: self.render(
                "index.html",
                "index.html",
                entries=newest,
                months=all_months,
                total=len(entries),
                body_html=blocks_to_html,
            ),
        )
        yield Output(
            "archive/index.html",
            make_key(fp, "archive", repr(month_list)),
            lambda: self.render("archive.html", "archive/index.html", months=all_months),
        )
        for month in all_months:
            yield Output(
                month.path,
                make_key(fp, "month", *(keys[e.id] + e.slug for e in month.entries)),
                self._month_renderer(month),
            )

    def _css(self) -> bytes:
        return self.env.get_template("style.css").render().encode("utf-8")

    def _article_renderer(self, entry: Entry, newer: Entry | None, older: Entry | None) -> Any:
        def render() -> bytes:
            return self.render(
                "article.html",
                entry.path,
                entry=entry,
                article=entry.article,
                body=blocks_to_html(entry.article.blocks),
                newer=newer,
                older=older,
            )

        return render

    def _month_renderer(self, month: Month) -> Any:
        def render() -> bytes:
            return self.render("month.html", month.path, month=month)

        return render
