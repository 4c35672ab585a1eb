"""Tags and sections: slices of the site with their own page and feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from feeds.model import Entry
from feeds.read.slugs import make_slug

GroupKind = Literal["tag", "section"]


@dataclass(frozen=True)
class Group:
    """A tag (from `tags` headers) or a section (a sub-folder of the seeds folder)."""

    kind: GroupKind
    name: str
    slug: str
    entries: tuple[Entry, ...]

    @property
    def prefix(self) -> str:
        """The folder of the group's page and feeds in the publish folder."""
        folder = "tags" if self.kind == "tag" else "sections"
        return f"{folder}/{self.slug}/"

    def feed_title(self, site_title: str) -> str:
        """The title of the group's feeds (and their autodiscovery links, and OPML)."""
        return f"{site_title}: {self.name}"

    @property
    def page(self) -> str:
        """The group's index page."""
        return self.prefix + "index.html"


def group_slug(name: str) -> str:
    """Transliterated slug of a tag or section name ('' when nothing readable is left)."""
    return make_slug(name.replace("/", " "))


def collect_groups(entries: Sequence[Entry]) -> list[Group]:
    """Every tag and section with its entries (newest first), sorted by kind then slug.

    Names that give the same slug are one group, shown under the first name met.
    """
    found: dict[tuple[GroupKind, str], tuple[str, list[Entry]]] = {}
    slugs: dict[str, str] = {}
    for entry in entries:
        meta = entry.meta
        if not meta.tags and not meta.section:
            continue
        names: list[tuple[GroupKind, str]] = [("tag", t) for t in meta.tags]
        if meta.section:
            names.append(("section", meta.section))
        for kind, name in names:
            slug = slugs.get(name)
            if slug is None:
                slug = slugs[name] = group_slug(name)
            if not slug:
                continue
            _, members = found.setdefault((kind, slug), (name, []))
            if not members or members[-1] is not entry:
                members.append(entry)
    return [
        Group(kind, name, slug, tuple(members))
        for (kind, slug), (name, members) in sorted(found.items())
    ]
