"""Find seed files under the seeds folder and read them into Articles (no rendering)."""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import NamedTuple

from feeds.errors import SeedError
from feeds.model import Article
from feeds.read import layouts
from feeds.read.reader import DEFAULT_LIMITS, Limits, decode, parse
from feeds.read.safe_open import read_file, stat_file

SUFFIXES = (".txt", *layouts.MARKDOWN_SUFFIXES)
log = logging.getLogger(__name__)
SETTLE_SECONDS = 1.0
SETTLE_PAUSE = 0.4
# In a name these would break the one-line report or the XML of the feeds (surrogates stand
# for bytes that are not UTF-8); such a file is refused rather than crashing the build.
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def stem_of(rel: str) -> str:
    """The article id a seed at rel gets: its file name without the suffix (SPEC 2a: a
    Hugo page bundle's folder name)."""
    return layouts.article_id(rel)


class SeedFile(NamedTuple):
    """A candidate seed: where it is and what stat said about it (a tuple: the scan makes
    one per file on every build, 100 000 of them for a big archive)."""

    rel: str
    location: str | Path  # full path; a plain string from the scan, which is cheaper
    size: int
    mtime_ns: int
    inode: int

    @property
    def path(self) -> Path:
        """The file's full path."""
        return Path(self.location)

    @property
    def stem(self) -> str:
        """The article id: the file name without its suffix."""
        return stem_of(self.rel)

    @property
    def signature(self) -> tuple[int, int, int]:
        """What changes when the file changes."""
        return (self.size, self.mtime_ns, self.inode)


@dataclass(frozen=True)
class Scan:
    """Everything found under the seeds folder: seed files and refused entries."""

    files: tuple[SeedFile, ...]
    errors: tuple[SeedError, ...]


def scan(root: Path, ignore: tuple[str, ...]) -> Scan:
    """Walk root with os.scandir; refuse symlinks that lead outside it."""
    real_root = root.resolve()
    files: list[SeedFile] = []
    errors: list[SeedError] = []
    if not root.is_dir():
        raise SeedError(str(root), "seeds folder not found")
    _walk(root, "", real_root, ignore_matcher(ignore), {real_root}, files, errors)
    files.sort()  # by rel: no two files share one
    errors.sort(key=lambda error: error.path)
    return Scan(tuple(files), tuple(errors))


def ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One test for all glob patterns (fnmatch semantics, case-sensitive).

    `*.tmp` and `.*` (the usual kinds) become endswith/startswith tests, the rest one
    compiled regular expression: the scan asks this of every file on every build.
    """
    suffixes: list[str] = []
    prefixes: list[str] = []
    others: list[str] = []
    for pattern in patterns:
        if pattern.startswith("*") and not _GLOB.search(pattern[1:]):
            suffixes.append(pattern[1:])
        elif pattern.endswith("*") and not _GLOB.search(pattern[:-1]):
            prefixes.append(pattern[:-1])
        else:
            others.append(pattern)
    ends, starts = tuple(suffixes), tuple(prefixes)
    match = (
        re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in others)).match
        if others
        else None
    )

    def ignored(text: str) -> bool:
        return (
            text.endswith(ends)
            or text.startswith(starts)
            or (match is not None and match(text) is not None)
        )

    return ignored


_GLOB = re.compile(r"[*?\[]")


def _walk(
    folder: Path,
    prefix: str,
    real_root: Path,
    ignored: Callable[[str], bool],
    seen_dirs: set[Path],
    files: list[SeedFile],
    errors: list[SeedError],
) -> None:
    """Add the seeds under folder to files (in no order), refused entries to errors.

    This runs for every file on every build: the common case (a regular .txt file) takes
    the fewest steps.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError as exc:
        errors.append(SeedError(prefix.rstrip("/") or ".", f"cannot list folder: {exc.strerror}"))
        return
    make = SeedFile._make  # tuple.__new__ itself: a third of the time of SeedFile(...)
    folders: list[tuple[str, str]] = []
    for entry in entries:
        name = entry.name
        rel = prefix + name
        # A pattern matches the name (`*.tmp`) or the path inside the seeds folder (`drafts/*`).
        if ignored(name) or (prefix and ignored(rel)):
            continue
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError as exc:
            errors.append(SeedError(rel, f"cannot read: {exc.strerror}"))
            continue
        if not is_dir and not name.endswith(SUFFIXES):
            continue
        if (is_dir or name.startswith("_")) and _tool_file(rel, is_dir):
            continue
        if _BAD_NAME.search(name):
            errors.append(SeedError(printable(rel), _name_problem(name)))
            continue
        if is_link and not _inside(entry, rel, real_root, errors):
            continue
        if is_dir:
            folders.append((rel, entry.path))
            continue
        if not name.rsplit(".", 1)[0]:
            continue
        try:
            st = entry.stat()
        except OSError as exc:
            errors.append(SeedError(rel, f"cannot read: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):
            errors.append(SeedError(rel, "not a regular file"))  # a FIFO would block the read
            continue
        files.append(make((rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino)))
    for rel, path in sorted(folders):  # in name order: a folder linked twice is walked as the first
        try:
            real = Path(os.path.realpath(path))
        except OSError as exc:  # swapped while we looked (readlink of what is no link now)
            errors.append(SeedError(rel, f"changed while being scanned: {exc.strerror}"))
            continue
        if real not in seen_dirs:
            seen_dirs.add(real)
            _walk(Path(path), rel + "/", real_root, ignored, seen_dirs, files, errors)


def _tool_file(rel: str, is_dir: bool) -> bool:
    """Whether rel is Hugo's or Jekyll's own (a section page, a layouts folder): not a seed."""
    reason = layouts.skip_reason(rel, is_dir)
    if reason:
        log.info("%s: skipped: %s", rel, reason)
    return bool(reason)


def _inside(entry: os.DirEntry[str], rel: str, real_root: Path, errors: list[SeedError]) -> bool:
    """Whether a symlink leads to something that exists inside the seeds folder."""
    try:
        target = Path(os.path.realpath(entry.path))
    except OSError as exc:  # swapped while we looked (readlink of what is no link now)
        errors.append(SeedError(rel, f"changed while being scanned: {exc.strerror}"))
        return False
    if target != real_root and real_root not in target.parents:
        errors.append(SeedError(rel, "symlink points outside the seeds folder"))
        return False
    if not target.exists():
        errors.append(SeedError(rel, "broken symlink"))
        return False
    return True


def printable(rel: str) -> str:
    """rel for a one-line report: undecodable bytes and control characters escaped."""
    raw = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _BAD_NAME.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), raw)


def _name_problem(name: str) -> str:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8"
    return "file name contains control characters"


def is_young(seed: SeedFile, wall_now: float) -> bool:
    """Whether the file changed within the last SETTLE_SECONDS (real clock, not --now)."""
    return wall_now - seed.mtime_ns / 1e9 < SETTLE_SECONDS


def settle(
    root: Path,
    files: tuple[SeedFile, ...],
    wall_clock: Callable[[], float] = time.time,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[tuple[SeedFile, ...], tuple[SeedFile, ...]]:
    """Split files into (settled, still moving), re-checking the young ones after a pause
    (through feeds.read.safe_open from the seeds folder root, like every read of a seed)."""
    now = wall_clock()
    young = [f for f in files if is_young(f, now)]
    if not young:
        return files, ()
    pause(SETTLE_PAUSE)
    moving: set[str] = set()
    for seed in young:
        try:
            st = stat_file(root, seed.rel)
        except SeedError:
            moving.add(seed.rel)  # gone or replaced: the read after it settles says which
            continue
        if (st.st_size, st.st_mtime_ns) != (seed.size, seed.mtime_ns):
            moving.add(seed.rel)
    settled = tuple(f for f in files if f.rel not in moving)
    return settled, tuple(f for f in files if f.rel in moving)


def read_bytes(root: Path, seed: SeedFile, max_bytes: int) -> bytes:
    """The seed's bytes, read through feeds.read.safe_open from the seeds folder root: a file
    swapped for a symlink leading outside since the scan is refused, never read.

    Oversized files are refused from the scan's size before anything is opened.
    """
    if seed.size > max_bytes:
        raise SeedError(
            seed.rel, f"file is {seed.size} bytes, larger than seeds.max_bytes ({max_bytes})"
        )
    return read_file(root, seed.rel, max_bytes, "seeds.max_bytes")


def read_article(
    seed: SeedFile,
    data: bytes,
    tz: tzinfo,
    limits: Limits = DEFAULT_LIMITS,
    site_url: str = "",
) -> Article:
    """Decode and parse one seed's bytes into an Article (site_url: where the body's
    relative links of a Markdown seed lead)."""
    if not data.strip():
        raise SeedError(seed.rel, "empty file")
    try:
        text = decode(data)
    except ValueError as exc:
        raise SeedError(seed.rel, str(exc)) from None
    if layouts.is_markdown(seed.rel):
        from feeds.read.md_reader import parse_markdown  # the parser loads only if needed

        return parse_markdown(seed.rel, seed.stem, text, tz, site_url, limits)
    return parse(seed.rel, seed.stem, text, tz, limits)
