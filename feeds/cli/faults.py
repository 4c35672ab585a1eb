"""Recognising a full disk behind whatever error it surfaced as, and naming the folder.

A full disk shows up as an OSError (ENOSPC) from a write, wrapped by the publisher into a
PublishError, or as SQLite's "database or disk is full". The user needs to hear the same
thing in every case: no space left, and where.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """exc, then its causes and the exceptions it was raised while handling."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def is_disk_full(exc: BaseException) -> bool:
    """Whether exc (or what it wraps) is a full disk or an exceeded quota."""
    return _full_link(exc) is not None


def _full_link(exc: BaseException) -> BaseException | None:
    for link in _chain(exc):
        if isinstance(link, OSError) and link.errno in _FULL_ERRNOS:
            return link
        if isinstance(link, sqlite3.Error) and (
            getattr(link, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        ):
            return link
    return None


def full_folder(exc: BaseException, out: Path | None, state: Path | None) -> Path | None:
    """The folder being written when the disk filled up (None if unknown or not a full disk)."""
    link = _full_link(exc)
    if link is None:
        return None
    if isinstance(link, sqlite3.Error):
        return state
    filename = getattr(link, "filename", None)
    if filename:
        return Path(os.fsdecode(filename)).parent
    return _emptiest([p for p in (out, state) if p is not None])


def _emptiest(folders: Sequence[Path]) -> Path | None:
    """Of the folders that exist, the one on the filesystem with the least space left."""
    free: list[tuple[int, int, Path]] = []
    for order, folder in enumerate(folders):
        try:
            stats = os.statvfs(folder)
        except OSError:
            continue
        free.append((stats.f_bavail * stats.f_frsize, order, folder))
    return min(free)[2] if free else None
