"""Article images: remote URLs passed through, local files next to the seed copied over."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from feeds.config import Config
from feeds.errors import SeedError
from feeds.links import absolute
from feeds.model import Article, Meta

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


@dataclass(frozen=True)
class Image:
    """An article's image: its absolute URL and, for a local file, where it comes from."""

    url: str
    mime: str
    length: int = 0
    source: Path | None = None
    path: str = ""  # publish-folder path of a copied local file


def resolve_image(config: Config, article: Article | Meta) -> Image | None:
    """The article's `image` header as an Image; None when it has none.

    An unusable one raises SeedError: the article is published without it, and the
    reason is reported (and counted) like a skipped file's.
    """
    value = article.image.strip()
    if not value:
        return None
    mime = mimetypes.guess_type(urlsplit(value).path)[0] or "image/jpeg"
    scheme = urlsplit(value).scheme.lower()
    if scheme in ("http", "https"):
        return Image(url=value, mime=mime)
    if scheme or value.startswith("/") or "\\" in value:
        raise SeedError(
            article.source, f"image {value!r} is neither an http(s) URL nor a file next to the seed"
        )
    pure = PurePosixPath(article.source).parent / value
    root = config.paths.seeds.resolve()
    source = (root / pure).resolve()
    if root not in source.parents or not source.is_file():
        raise SeedError(article.source, f"image {value!r} not found inside the seeds folder")
    if source.suffix.lower() not in IMAGE_SUFFIXES:
        raise SeedError(article.source, f"image {value!r} is not an image file")
    path = f"media/{article.id}/{source.name}"
    url = absolute(config.site, quote(path))
    return Image(url=url, mime=mime, length=source.stat().st_size, source=source, path=path)
