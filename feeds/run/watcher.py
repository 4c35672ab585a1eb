"""Notice changes in the seeds folder cheaply, so the watch daemon rebuilds only when needed.

A poll keeps an in-memory snapshot, rel path -> (size, mtime_ns, inode), and refreshes it with
as few system calls as it can, because it runs every `watch.interval` seconds:

- a folder is listed again only when its own (mtime_ns, inode) moved, or it changed within
  the last second (a change in the same clock tick as our listing would not move it);
- a listed folder of up to RESTAT_FOLDER_MAX files has every file re-stat'ed; a larger one
  only the names that are new or whose inode (from the folder entry) changed, which catches
  files added, removed or replaced by rename without 100 000 stats;
- a file written in place leaves its folder alone: watchdog (inotify) names it at once when
  available, and every poll also re-stats a rotating slice of all files, so every file is
  checked again within AUDIT_POLLS polls even without inotify.

At 100 000 files a poll that finds nothing costs a few folder stats plus the audit slice.
The diff is against the snapshot of the last successful build, so a change made while a
build runs is seen by the next poll.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feeds.read.seeds import SETTLE_SECONDS, SUFFIXES

log = logging.getLogger(__name__)

Signature = tuple[int, int, int]
Snapshot = dict[str, Signature]

AUDIT_POLLS = 20  # every file is re-stat'ed at least once every this many polls
AUDIT_MIN = 1000  # ... and at least this many files per poll
RESTAT_FOLDER_MAX = 2000  # a changed folder this small has every file re-stat'ed
FUTURE_SLACK = 2.0  # an mtime further ahead than this is clock skew, not a write in progress
# inotify events that can change a seed (opening and reading one cannot: our builds do that).
WRITE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed", "attrib"})


def ignore_matcher(patterns: tuple[str, ...]) -> Callable[[str], object]:
    """One compiled regex for all ignore patterns (fnmatch per name is slow at 100 000)."""
    if not patterns:
        return lambda name: None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


@dataclass(frozen=True)
class Change:
    """Seed paths that differ from the last build, and when the youngest will have settled."""

    signatures: dict[str, Signature | None] = field(default_factory=dict)
    settles_at: float | None = None
    initial: bool = False

    @property
    def paths(self) -> tuple[str, ...]:
        """The changed paths (added, modified or removed), sorted."""
        return tuple(sorted(self.signatures))

    @property
    def ready(self) -> bool:
        """Something changed and every changed file has been still for SETTLE_SECONDS."""
        return (self.initial or bool(self.signatures)) and self.settles_at is None


@dataclass
class _Folder:
    stamp: tuple[int, int, int]  # (mtime_ns, inode, device)
    recent: bool  # changed within the last second: list it again next poll
    files: dict[str, int]  # name -> inode as the folder entry gave it
    subdirs: tuple[str, ...]


class Watcher:
    """The seeds folder as of the last poll, diffed against the last successful build."""

    def __init__(
        self,
        root: Path,
        ignore: tuple[str, ...],
        *,
        audit_polls: int | None = AUDIT_POLLS,
        audit_min: int = AUDIT_MIN,
    ) -> None:
        """audit_polls=None turns the rotating re-stat off (inotify hints only)."""
        self.root = str(root)
        self._audit_polls = audit_polls
        self._audit_min = audit_min
        self._ignored = ignore_matcher(ignore)
        self.current: Snapshot = {}
        self._built: Snapshot | None = None
        self._moved: set[str] = set()  # rels whose current signature may differ from built
        self._folders: dict[str, _Folder] = {}
        self._audit: list[str] = []
        self._audit_at = 0
        self._hints: set[str] = set()
        self._hints_lock = threading.Lock()

    def poll(self, wall: float) -> Change:
        """Refresh the snapshot (wall: time.time()) and say what differs from the last build."""
        if self._refresh_folder("", self.root, wall, set()):
            self._audit = list(self.current)
        self._take_hints()
        self._audit_slice()
        if self._built is None:
            return Change(initial=True, settles_at=_settles_at(self.current.values(), wall))
        changed: dict[str, Signature | None] = {}
        for rel in list(self._moved):
            sig = self.current.get(rel)
            if sig == self._built.get(rel):
                self._moved.discard(rel)
            else:
                changed[rel] = sig
        present = (sig for sig in changed.values() if sig is not None)
        return Change(changed, _settles_at(present, wall))

    def mark_built(self) -> None:
        """The build that followed the last poll succeeded: diff against this poll from now on.

        A change after that poll shows up again in the next one, since the build may or may not
        have seen it.
        """
        self._built = dict(self.current)
        self._moved.clear()

    def hint(self, path: str) -> None:
        """Called from the inotify thread: this path may have been written in place."""
        with self._hints_lock:
            self._hints.add(path)

    # -- refreshing ---------------------------------------------------------------------

    def _set(self, rel: str, sig: Signature | None) -> None:
        old = self.current.get(rel)
        if sig == old:
            return
        if sig is None:
            del self.current[rel]
        else:
            self.current[rel] = sig
        self._moved.add(rel)

    def _refresh_folder(self, rel_dir: str, path: str, wall: float, seen: set[Any]) -> bool:
        """Bring one folder (and its subfolders) up to date; True when names came or went."""
        try:
            st = os.stat(path)
        except OSError:
            self._forget_folder(rel_dir)
            return True
        stamp = (st.st_mtime_ns, st.st_ino, st.st_dev)
        if (st.st_dev, st.st_ino) in seen:  # a symlink loop or a second way into one folder
            return False
        seen.add((st.st_dev, st.st_ino))
        known = self._folders.get(rel_dir)
        renamed = False
        if known is None or known.recent or known.stamp != stamp:
            renamed = self._list_folder(rel_dir, path, stamp, wall, known)
            known = self._folders[rel_dir]
        for name in known.subdirs:
            renamed |= self._refresh_folder(rel_dir + name + "/", path + "/" + name, wall, seen)
        return renamed

    def _list_folder(
        self,
        rel_dir: str,
        path: str,
        stamp: tuple[int, int, int],
        wall: float,
        known: _Folder | None,
    ) -> bool:
        files: dict[str, int] = {}
        subdirs: list[str] = []
        suspects: list[str] = []  # new names, or names whose inode changed
        still_there = 0  # names from the last listing found again as files
        added = 0
        ignored = self._ignored
        nested = bool(rel_dir)
        old_files = known.files if known is not None else {}
        exhaustive = len(old_files) <= RESTAT_FOLDER_MAX  # cheap enough to re-stat every file
        try:
            with os.scandir(path) as entries:
                for entry in entries:
                    name = entry.name
                    old = old_files.get(name)
                    if old is not None and not entry.is_dir():  # the common case, kept lean
                        still_there += 1
                        inode = files[name] = entry.inode()
                        if inode != old or exhaustive:
                            suspects.append(name)
                        continue
                    # As seeds.scan: a pattern matches the name or the path inside the seeds.
                    if ignored(name) or (nested and ignored(rel_dir + name)):
                        continue
                    try:
                        if entry.is_dir():
                            subdirs.append(name)
                        elif name.endswith(SUFFIXES):
                            files[name] = entry.inode()
                            suspects.append(name)
                            added += 1
                    except OSError:
                        continue
        except OSError:
            pass
        for name in suspects:
            try:
                st = os.stat(path + "/" + name)
            except OSError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode):  # became a folder since listed
                del files[name]
                subdirs.append(name)
                self._set(rel_dir + name, None)
                continue
            self._set(rel_dir + name, _signature(st))
        if still_there != len(old_files):  # names went away: only then pay for a set difference
            for name in old_files.keys() - files.keys():
                self._set(rel_dir + name, None)
        for name in set(known.subdirs if known else ()).difference(subdirs):
            self._forget_folder(rel_dir + name + "/")
        recent = -FUTURE_SLACK < wall - stamp[0] / 1e9 < SETTLE_SECONDS
        self._folders[rel_dir] = _Folder(stamp, recent, files, tuple(sorted(subdirs)))
        return added > 0 or still_there != len(old_files)

    def _forget_folder(self, rel_dir: str) -> None:
        for key in [k for k in self._folders if k.startswith(rel_dir)]:
            del self._folders[key]
        for rel in [r for r in self.current if r.startswith(rel_dir)]:
            self._set(rel, None)

    def _take_hints(self) -> None:
        with self._hints_lock:
            hints, self._hints = self._hints, set()
        root = self.root + "/"
        for path in hints:
            rel = path[len(root) :] if path.startswith(root) else None
            if rel is not None and rel in self.current:  # new or removed names: the listing
                self._set(rel, _stat(path))

    def _audit_slice(self) -> None:
        audit = self._audit
        if not audit or self._audit_polls is None:
            return
        count = min(len(audit), max(self._audit_min, -(-len(audit) // self._audit_polls)))
        start = self._audit_at % len(audit)
        root = self.root + "/"
        for i in range(start, start + count):
            rel = audit[i % len(audit)]
            if rel in self.current:
                sig = _stat(root + rel)
                if sig is not None:  # a vanished file is the folder listing's business
                    self._set(rel, sig)
        self._audit_at = (start + count) % len(audit)


def _settles_at(signatures: Iterable[Signature], wall: float) -> float | None:
    """When the youngest of these files will have been still for SETTLE_SECONDS; None if
    all already have (an mtime far in the future is clock skew: the build re-checks it)."""
    youngest: float | None = None
    for _size, mtime_ns, _inode in signatures:
        mtime = mtime_ns / 1e9
        if -FUTURE_SLACK < wall - mtime < SETTLE_SECONDS and (youngest is None or mtime > youngest):
            youngest = mtime
    return None if youngest is None else youngest + SETTLE_SECONDS


def _stat(path: str) -> Signature | None:
    try:
        return _signature(os.stat(path))
    except OSError:
        return None


def _signature(st: os.stat_result | None) -> Signature | None:
    return None if st is None else (st.st_size, st.st_mtime_ns, st.st_ino)


def start_inotify(watcher: Watcher, wake: Callable[[], None]) -> Callable[[], None] | None:
    """Hint the watcher and call `wake` on every file event; returns a stop function, or
    None when inotify is not available (polling alone still finds every change)."""
    try:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
    except ImportError:  # pragma: no cover - watchdog is a dependency
        return None

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type not in WRITE_EVENTS:  # our own reads open files too
                return
            for path in (event.src_path, getattr(event, "dest_path", "")):
                if path:
                    watcher.hint(os.fsdecode(path))
            wake()

    observer = Observer()
    try:
        observer.schedule(Handler(), watcher.root, recursive=True)
        observer.start()
    except Exception as exc:  # inotify limits, odd file systems: fall back to polling
        log.debug("no inotify for %s (%s); polling only", watcher.root, exc)
        return None

    def stop() -> None:
        observer.stop()
        observer.join(timeout=5)

    return stop
