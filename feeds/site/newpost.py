"""`feeds new "Title"`: a new seed file with its header filled in, as `hugo new` makes one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from feeds.config import Config
from feeds.errors import ConfigError, SeedError
from feeds.read.seeds import scan
from feeds.read.slugs import make_slug

FALLBACK_NAME = "post"  # a title with nothing transliterable in it (only emoji, say)
MAX_TRIES = 10_000


@dataclass(frozen=True)
class NewPost:
    """What `feeds new` was asked for."""

    title: str
    section: str = ""
    tags: tuple[str, ...] = ()
    markdown: bool = False


def seed_text(post: NewPost, when: datetime) -> str:
    """The header of the new seed (SPEC 2 lines, also read in `.md`), then a blank line.

    It starts as a draft: a build that runs before the text is written (cron, `feeds
    watch`) must not publish an empty article. Deleting the `draft` line publishes it.
    """
    lines = [f"title: {post.title}", f"date: {when.isoformat(sep=' ', timespec='seconds')}"]
    if post.tags:
        lines.append(f"tags: {', '.join(post.tags)}")
    lines.append("draft: true")
    return "\n".join(lines) + "\n\n"


def create_post(config: Config, post: NewPost, now: datetime) -> Path:
    """Write the new seed into the seeds folder (in post.section); its path.

    The name is the title transliterated as slugs are; a name whose stem any seed already
    has (the stem is the article's id) takes `-2`, `-3`... The file is created with
    O_EXCL, so two `feeds new` at once never write into one file.
    """
    _check_text("title", post.title, allow_empty=False)
    for tag in post.tags:
        _check_text("--tags", tag, allow_empty=False)
    seeds = config.paths.seeds
    if not seeds.is_dir():
        raise ConfigError(f"paths.seeds: seeds folder {seeds} not found; run feeds init first")
    folder = seeds.joinpath(*_section_parts(post.section))
    # Before and after making it: a symlinked folder on the way must not lead out.
    _inside(folder, seeds, post.section)
    folder.mkdir(parents=True, exist_ok=True)
    _inside(folder, seeds, post.section)
    data = seed_text(post, now.astimezone(config.site.tz)).encode("utf-8")
    base = make_slug(post.title) or FALLBACK_NAME
    suffix = ".md" if post.markdown else ".txt"
    taken = _stems(config)
    for n in range(1, MAX_TRIES):
        stem = base if n == 1 else f"{base}-{n}"
        if stem in taken:
            continue
        path = folder / (stem + suffix)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another `feeds new` (or an editor) was first
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return path
    raise ConfigError(f"no free file name for {base}{suffix} in {folder}")


def _inside(folder: Path, seeds: Path, section: str) -> None:
    if not folder.resolve().is_relative_to(seeds.resolve()):
        raise ConfigError(f"--section: {section} leads outside the seeds folder")


def _stems(config: Config) -> set[str]:
    """The ids (file stems) of every seed under the seeds folder, ignored files included
    (an ignored draft may be un-ignored later)."""
    try:
        found = scan(config.paths.seeds, ())
    except SeedError:
        return set()
    return {PurePosixPath(seed.rel).stem for seed in found.files}


def _section_parts(section: str) -> list[str]:
    """The folder names of --section: relative, no `..`, no dotfile (those are ignored)."""
    if not section:
        return []
    _check_text("--section", section, allow_empty=False)
    if "\\" in section or section.startswith("/"):
        raise ConfigError(f"--section: {section!r} must be a folder name inside the seeds folder")
    parts = [part for part in section.split("/") if part]
    if not parts or any(part in (".", "..") or part.startswith(".") for part in parts):
        raise ConfigError(f"--section: {section!r} must be a folder name inside the seeds folder")
    return parts


def _check_text(what: str, value: str, *, allow_empty: bool) -> None:
    """A header value is one line of printable text (a line break would start a new key)."""
    if not value.strip() and not allow_empty:
        raise ConfigError(f"{what}: must not be empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ConfigError(f"{what}: must be one line without control characters")
