"""Article images: remote URLs passed through, local files next to the seed copied over."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit

from feeds.config import Config
from feeds.errors import SeedError
from feeds.model import Article, Meta, Output, make_key
from feeds.read.safe_open import read_file, stat_file
from feeds.site.links import absolute

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


MAX_IMAGE_BYTES = 64 * 2**20  # an image copy is held in memory once; nothing bigger is copied


@dataclass(frozen=True)
class Image:
    """An article's image: its absolute URL and, for a local file, where it comes from."""

    url: str
    mime: str
    length: int = 0
    source: str | None = None  # a local file's path inside the seeds folder (as written)
    path: str = ""  # publish-folder path of a copied local file


def local_image(article: Article | Meta) -> str | None:
    """The path inside the seeds folder of the article's image, when its header names a
    local file (None for none, a URL, or a value that cannot be one)."""
    value = article.image.strip()
    if not value or urlsplit(value).scheme or value.startswith("/") or "\\" in value:
        return None
    return str(PurePosixPath(article.source).parent / value)


def resolve_image(config: Config, article: Article | Meta) -> Image | None:
    """The article's `image` header as an Image; None when it has none.

    An unusable one raises SeedError: the article is published without it, and the
    reason is reported (and counted) like a skipped file's. A local file is reached through
    feeds.read.safe_open: inside the seeds folder, symlinks that stay inside followed, a
    regular file.
    """
    value = article.image.strip()
    if not value:
        return None
    return _resolve(config, article.source, article.id, value)


def resolve_body_images(
    config: Config, metas: Iterable[Meta], taken: Iterable[Image]
) -> tuple[dict[str, Image], tuple[SeedError, ...]]:
    """The local images Markdown bodies show (SPEC 2a), by publish path, under the rules
    of the `image` header (through feeds.read.safe_open); those in taken (the articles'
    own images) left out. Each unusable one is a warning: the body keeps a broken image."""
    paths = {image.path for image in taken}
    media: dict[str, Image] = {}
    warnings: list[SeedError] = []
    for meta in metas:
        for value in meta.media:
            if value == meta.image.strip():
                continue  # the article's own image (the first one): resolve_image's
            try:
                image = _resolve(config, meta.source, meta.id, value)
            except SeedError as exc:
                warnings.append(exc)
                continue
            if image.path and image.path not in paths:
                media[image.path] = image
    return media, tuple(warnings)


def body_image_sources(meta: Meta) -> list[str]:
    """The paths inside the seeds folder of the local images a Markdown body shows."""
    parent = PurePosixPath(meta.source).parent
    return [str(parent / value) for value in meta.media]


def _resolve(config: Config, seed: str, aid: str, value: str) -> Image:
    """An image named by the seed at seed (an http(s) URL, or a file relative to the seed)."""
    mime = mimetypes.guess_type(urlsplit(value).path)[0] or "image/jpeg"
    scheme = urlsplit(value).scheme.lower()
    if scheme in ("http", "https"):
        return Image(url=value, mime=mime)
    if scheme or value.startswith("/") or "\\" in value:
        raise SeedError(
            seed, f"image {value!r} is neither an http(s) URL nor a file next to the seed"
        )
    source = str(PurePosixPath(seed).parent / value)
    try:
        length = stat_file(config.paths.seeds, source).st_size
    except SeedError as exc:
        raise SeedError(
            seed, f"image {value!r} not found inside the seeds folder ({exc.reason})"
        ) from None
    name = PurePosixPath(value).name
    if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
        raise SeedError(seed, f"image {value!r} is not an image file")
    path = f"media/{aid}/{name}"
    url = absolute(config.site, quote(path))
    return Image(url=url, mime=mime, length=length, source=source, path=path)


def copy_output(seeds: Path, image: Image) -> Output:
    """The publish-folder copy of a local image, keyed by the file's size and time now
    (an image can change while its seed does not). Rendering reads it again through
    feeds.read.safe_open: a file swapped for a symlink out since is refused (SeedError)."""
    assert image.source is not None
    try:
        st = stat_file(seeds, image.source)
        key = make_key("media", image.source, str(st.st_size), str(st.st_mtime_ns))
    except SeedError as exc:
        key = make_key("media", image.source, "refused", exc.reason)
    return Output(image.path, key, partial(image_bytes, seeds, image.source))


def image_bytes(seeds: Path, source: str) -> bytes:
    """A local image's bytes (SeedError when it left the folder or is not a file)."""
    return read_file(seeds, source, MAX_IMAGE_BYTES, "the image limit")
