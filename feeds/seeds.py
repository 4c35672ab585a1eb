"""Find seed files under the seeds folder and read them into Articles (no rendering)."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from feeds.errors import SeedError
from feeds.model import Article
from feeds.reader import decode, parse

SUFFIXES = (".txt", ".md")
SETTLE_SECONDS = 1.0
SETTLE_PAUSE = 0.4
# In a name these would break the one-line report or the XML of the feeds (surrogates stand
# for bytes that are not UTF-8); such a file is refused rather than crashing the build.
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class SeedFile:
    """A candidate seed: where it is and what stat said about it."""

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
        name = self.rel.rpartition("/")[2]
        return name.rsplit(".", 1)[0]

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
    seen_dirs = {real_root}
    ignored = ignore_matcher(ignore)
    for rel, entry in _walk(root, "", real_root, ignored, seen_dirs, errors):
        try:
            st = entry.stat()
        except OSError as exc:
            errors.append(SeedError(rel, f"cannot read: {exc.strerror}"))
            continue
        if not stat.S_ISREG(st.st_mode):
            errors.append(SeedError(rel, "not a regular file"))  # a FIFO would block the read
            continue
        files.append(SeedFile(rel, entry.path, st.st_size, st.st_mtime_ns, st.st_ino))
    files.sort(key=lambda f: f.rel)
    return Scan(tuple(files), tuple(errors))


def ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled test for all glob patterns (fnmatch semantics, case-sensitive)."""
    if not patterns:
        return lambda text: None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def _walk(
    folder: Path,
    prefix: str,
    real_root: Path,
    ignored: Callable[[str], object],
    seen_dirs: set[Path],
    errors: list[SeedError],
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        errors.append(SeedError(prefix.rstrip("/") or ".", f"cannot list folder: {exc.strerror}"))
        return
    for entry in entries:
        name = entry.name
        rel = prefix + name
        # A pattern matches the name (`*.tmp`) or the path inside the seeds folder (`drafts/*`).
        if ignored(name) or ignored(rel):
            continue
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
        except OSError as exc:
            errors.append(SeedError(rel, f"cannot read: {exc.strerror}"))
            continue
        if (is_dir or name.endswith(SUFFIXES)) and _BAD_NAME.search(name):
            errors.append(SeedError(printable(rel), _name_problem(name)))
            continue
        if is_link and (is_dir or name.endswith(SUFFIXES)):
            target = Path(os.path.realpath(entry.path))
            if target != real_root and real_root not in target.parents:
                errors.append(SeedError(rel, "symlink points outside the seeds folder"))
                continue
            if not target.exists():
                errors.append(SeedError(rel, "broken symlink"))
                continue
        if is_dir:
            real = Path(os.path.realpath(entry.path))
            if real in seen_dirs:
                continue
            seen_dirs.add(real)
            yield from _walk(Path(entry.path), rel + "/", real_root, ignored, seen_dirs, errors)
        elif name.endswith(SUFFIXES) and name.rsplit(".", 1)[0]:
            yield rel, entry


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
    files: tuple[SeedFile, ...],
    wall_clock: Callable[[], float] = time.time,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[tuple[SeedFile, ...], tuple[SeedFile, ...]]:
    """Split files into (settled, still moving), re-checking the young ones after a pause."""
    now = wall_clock()
    young = [f for f in files if is_young(f, now)]
    if not young:
        return files, ()
    pause(SETTLE_PAUSE)
    moving: set[str] = set()
    for seed in young:
        try:
            st = seed.path.stat()
        except OSError:
            moving.add(seed.rel)
            continue
        if (st.st_size, st.st_mtime_ns) != (seed.size, seed.mtime_ns):
            moving.add(seed.rel)
    settled = tuple(f for f in files if f.rel not in moving)
    return settled, tuple(f for f in files if f.rel in moving)


def read_bytes(seed: SeedFile, max_bytes: int) -> bytes:
    """The file's bytes, refusing oversized files before reading them."""
    if seed.size > max_bytes:
        raise SeedError(
            seed.rel, f"file is {seed.size} bytes, larger than seeds.max_bytes ({max_bytes})"
        )
    try:
        # Non-blocking: a file replaced by a FIFO since the scan must not hang the build.
        fd = os.open(seed.location, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise SeedError(seed.rel, f"cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise SeedError(seed.rel, "is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise SeedError(seed.rel, "not a regular file")
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SeedError(seed.rel, f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SeedError(seed.rel, f"file is larger than seeds.max_bytes ({max_bytes})")
    return data


def read_article(seed: SeedFile, data: bytes, tz: tzinfo) -> Article:
    """Decode and parse one seed's bytes into an Article."""
    if not data.strip():
        raise SeedError(seed.rel, "empty file")
    try:
        text = decode(data)
    except ValueError as exc:
        raise SeedError(seed.rel, str(exc)) from None
    return parse(seed.rel, seed.stem, text, tz)
