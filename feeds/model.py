"""The data that flows from the seed reader to every renderer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

BlockKind = Literal["p", "h2", "quote", "html"]


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of article text: plain, a subheading or a quotation.

    Kind "html" is the one exception to "text is plain": a Markdown body rendered and
    sanitised by feeds.markdown, the only text that goes into pages, feeds and mail as
    markup.
    """

    kind: BlockKind
    text: str


@dataclass(frozen=True, slots=True)
class Article:
    """One seed file, read and parsed; text is plain (escaped only when rendered)."""

    id: str
    source: str
    date: datetime
    title: str
    summary: str
    blocks: tuple[Block, ...]
    author: str = ""
    tags: tuple[str, ...] = ()
    image: str = ""
    lang: str = ""
    slug_hint: str = ""
    draft: bool = False
    warnings: tuple[str, ...] = ()  # what was cut or dropped: published, and reported
    updated: datetime | None = None  # last modified (front matter `lastmod`), when given
    media: tuple[str, ...] = ()  # images the body shows, relative to the file, to copy

    @property
    def section(self) -> str:
        """The sub-folder of the seeds folder the file lives in ('' at the top)."""
        return section_of(self.source)


class Meta(NamedTuple):
    """What planning needs of an article without reading its text (one per seed, cached).

    A tuple, so that the state folder's snapshot (feeds.store.snapshot) can hold it as plain
    values and 100 000 of them load in a blink.
    """

    id: str
    source: str
    stamp: str  # the date in UTC, as stamp_of writes it: sorts as the dates do
    month: str  # YYYY-MM in the site timezone: the archive page the article is listed on
    tags: tuple[str, ...]
    image: str
    draft: bool
    key: str  # content key: changes whenever the seed's bytes or its path change
    warnings: tuple[str, ...] = ()  # the Article's warnings, reported on every build
    media: tuple[str, ...] = ()  # images a Markdown body shows (Article.media)

    @property
    def date(self) -> datetime:
        """The article's date (in UTC)."""
        return datetime.fromisoformat(self.stamp).replace(tzinfo=UTC)

    @property
    def section(self) -> str:
        """The sub-folder of the seeds folder the file lives in ('' at the top)."""
        return section_of(self.source)


class SeedRow(NamedTuple):
    """What the last build knew of one seed file: its stat, its hash, and its Meta or error."""

    rel: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str
    meta: Meta | None
    error: str | None


def section_of(source: str) -> str:
    """The section of the seed at source: its folder, less the folders other tools name
    by layout (a Hugo bundle `posts/my-trip/index.md` is in `posts`; Jekyll's `_posts`)."""
    head, _, name = source.rpartition("/")
    if name.startswith("index.") and name in ("index.md", "index.markdown"):
        head = head.rpartition("/")[0]
    while head.endswith(("_posts", "_drafts")):
        parent, _, last = head.rpartition("/")
        if last not in ("_posts", "_drafts"):
            break
        head = parent
    return head


def stamp_of(when: datetime) -> str:
    """A fixed-width UTC text for an aware datetime: comparing two compares the instants."""
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


Loader = Callable[[Meta], Article]
"""Where an Entry gets its Article when it was not read in this build."""


class Entry:
    """A published article: its Meta and permanent slug, with the Article read on demand.

    An incremental build plans from the Meta of every article but reads only the Articles
    of pages it renders (`article` calls the loader the first time it is used).
    """

    __slots__ = ("_article", "_loader", "id", "meta", "slug")

    def __init__(
        self,
        meta: Meta,
        slug: str,
        article: Article | None = None,
        loader: Loader | None = None,
    ) -> None:
        self.id = meta.id  # the article's permanent id (the file stem); read very often
        self.meta = meta
        self.slug = slug
        self._article = article
        self._loader = loader

    @property
    def date(self) -> datetime:
        """The article's date."""
        return self.meta.date

    @property
    def path(self) -> str:
        """Path of the article page inside the publish folder."""
        return f"articles/{self.slug}.html"

    @property
    def article(self) -> Article:
        """The Article (metadata, not body), read through the loader when not at hand.

        Not kept once read: a big build's render workers would end up holding every
        article; the loader keeps the recently used ones.
        """
        if self._article is not None:
            return self._article
        if self._loader is None:
            raise LookupError(f"article {self.meta.id} was not loaded")
        return self._loader(self.meta)

    def __repr__(self) -> str:
        return f"Entry({self.meta.id!r}, {self.slug!r})"


Bodies = Callable[[Article], tuple[Block, ...]]
"""Where renderers get an article's body: build passes one that reads the state database."""


@dataclass(frozen=True)
class Output:
    """One file of the publish folder, rendered only when its key changed."""

    path: str
    key: str
    render: Callable[[], bytes]


def make_key(*parts: str) -> str:
    """A short stable hash of a render's (or a parse's) inputs."""
    joined = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]
