"""Opening files under the seeds folder without ever leaving it (SPEC 2: a symlink that
points outside the seeds folder is refused; one that stays inside is followed).

Checking a path and then opening it is a race: the file can become a symlink in between.
Here the check and the read concern the same open file. The relative path is walked one
component at a time with openat(2) and O_NOFOLLOW, starting from a descriptor of the
seeds folder; a symlink component is followed only when its target, taken against the
folder, stays inside it, and then the walk starts again from the folder's descriptor.
The last descriptor is fstat'ed (a regular file, within the size limit) and read. A file
swapped for a symlink at any moment can make the open fail, never read anything outside.

Every read of a file under the seeds folder goes through open_file (seed text, image
copies, image sizes); feeds.read.seeds.scan only lists.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeds.errors import SeedError

MAX_HOPS = 40  # symlinks followed in one open before it counts as a loop (as Linux's ELOOP)
# O_NONBLOCK: a FIFO opens at once (and is then refused) instead of waiting for a writer.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_DIRECTORY
OUTSIDE = "symlink points outside the seeds folder"


@contextmanager
def open_file(root: Path, rel: str) -> Iterator[tuple[int, os.stat_result]]:
    """A read-only descriptor of the regular file at rel under root, and its fstat.

    SeedError(rel, reason) when rel leaves root (by `..` or a symlink), loops, is missing,
    unreadable, or not a regular file (a folder, FIFO, socket or device).
    """
    fd = _open(root, rel)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SeedError(rel, "is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise SeedError(rel, "not a regular file")
        yield fd, st
    finally:
        os.close(fd)


def read_file(root: Path, rel: str, max_bytes: int, limit: str) -> bytes:
    """The bytes of the regular file at rel under root, refused when over max_bytes.

    limit names the setting in the message (`seeds.max_bytes`).
    """
    with open_file(root, rel) as (fd, st):
        if st.st_size > max_bytes:
            raise SeedError(rel, f"file is {st.st_size} bytes, larger than {limit} ({max_bytes})")
        try:
            data = _read_at_most(fd, max_bytes + 1)
        except OSError as exc:
            raise SeedError(rel, f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:  # it grew since the fstat
        raise SeedError(rel, f"file is larger than {limit} ({max_bytes})")
    return data


def stat_file(root: Path, rel: str) -> os.stat_result:
    """fstat of the regular file at rel under root, reached as open_file reaches it."""
    with open_file(root, rel) as (_fd, st):
        return st


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _open(root: Path, rel: str) -> int:
    """The descriptor at the end of rel, walked from root's (which the caller closes)."""
    parts = _parts(rel)
    if parts is None:
        raise SeedError(rel, "path leaves the seeds folder")
    try:
        root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise SeedError(rel, f"cannot open the seeds folder: {exc.strerror}") from None
    try:
        bases = _root_parts(root)
        for _hop in range(MAX_HOPS + 1):
            walked = _walk(root_fd, parts, rel, bases)
            if isinstance(walked, int):
                return walked
            parts = walked
        raise SeedError(rel, "too many levels of symlinks")
    finally:
        os.close(root_fd)


def _walk(root_fd: int, parts: list[str], rel: str, bases: list[list[str]]) -> int | list[str]:
    """Open parts one by one from root_fd: the final descriptor, or, when a symlink was
    met, the parts to walk again from the root with that symlink resolved."""
    done: list[str] = []
    fds: list[int] = []  # descriptors of the folders in done (root_fd below them)
    try:
        for index, name in enumerate(parts):
            rest = parts[index + 1 :]
            if name == "..":
                if not done:
                    raise SeedError(rel, "path leaves the seeds folder")
                done.pop()  # every folder in done is real (not a symlink): climbing is exact
                os.close(fds.pop())
                continue
            parent = fds[-1] if fds else root_fd
            try:
                child = os.open(name, _DIR_FLAGS if rest else _FILE_FLAGS, dir_fd=parent)
            except OSError as exc:
                target = _link_target(name, parent, exc)
                if target is None:
                    raise SeedError(rel, _reason(exc)) from None
                if target is _AGAIN:
                    return parts
                return _follow(target, done, rest, rel, bases)
            done.append(name)
            fds.append(child)
        if not fds or parts[-1] == "..":
            return os.open(".", _FILE_FLAGS, dir_fd=fds[-1] if fds else root_fd)
        return fds.pop()
    finally:
        for fd in fds:
            os.close(fd)


_AGAIN = "\x00again"


def _link_target(name: str, dir_fd: int, exc: OSError) -> str | None:
    """The target of the symlink that made an O_NOFOLLOW open fail; _AGAIN when it is no
    longer a symlink (swapped back meanwhile: walk again, counted as a hop); None for
    any other failure."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return None
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as again:
        if again.errno == errno.EINVAL and exc.errno == errno.ELOOP:
            return _AGAIN
        return None


def _follow(
    target: str, done: list[str], rest: list[str], rel: str, bases: list[list[str]]
) -> list[str]:
    """The parts to walk from the root after a symlink in folder `done` pointing at target."""
    if target.startswith("/"):
        pieces = [p for p in target.split("/") if p not in ("", ".")]
        for base in bases:
            if pieces[: len(base)] == base:
                return pieces[len(base) :] + rest
        raise SeedError(rel, OUTSIDE)
    if not target:
        raise SeedError(rel, "broken symlink")
    pieces = [p for p in target.split("/") if p not in ("", ".")]
    depth = len(done)
    for piece in pieces:  # a quick refusal; _walk checks each `..` again as it climbs
        depth += -1 if piece == ".." else 1
        if depth < 0:
            raise SeedError(rel, OUTSIDE)
    return done + pieces + rest


def _root_parts(root: Path) -> list[list[str]]:
    """The seeds folder as absolute path components, as configured and as resolved: an
    absolute symlink target inside either is inside."""
    forms = {os.path.abspath(root), os.path.realpath(root)}
    return [[p for p in form.split("/") if p] for form in sorted(forms)]


def _parts(rel: str) -> list[str] | None:
    """rel's components ('.' and empty dropped); None when it is absolute."""
    if rel.startswith("/") or "\x00" in rel:
        return None
    return [p for p in rel.split("/") if p not in ("", ".")]


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENXIO:
        return "not a regular file"  # a socket
    if exc.errno == errno.ENOTDIR:
        return "a folder on its path is a file"
    return f"cannot read: {exc.strerror}"
