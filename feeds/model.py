"""The data that flows from the seed reader to every renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

BlockKind = Literal["p", "h2", "quote"]


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of article text: plain, a subheading or a quotation."""

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

    @property
    def section(self) -> str:
        """The sub-folder of the seeds folder the file lives in ('' at the top)."""
        head, _, _ = self.source.rpartition("/")
        return head


@dataclass(frozen=True, slots=True)
class Entry:
    """A published article: an Article with its permanent slug."""

    article: Article
    slug: str

    @property
    def id(self) -> str:
        """The article's permanent id (the file stem)."""
        return self.article.id

    @property
    def path(self) -> str:
        """Path of the article page inside the publish folder."""
        return f"articles/{self.slug}.html"


Bodies = Callable[[Article], tuple[Block, ...]]
"""Where renderers get an article's body: build passes one that reads the state database."""
