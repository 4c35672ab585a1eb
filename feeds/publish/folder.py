"""Writing the publish folder: atomic replacement, unchanged files left alone, one lock."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path, PurePosixPath

from feeds.errors import PublishError

TEMP_PREFIX = ".feeds-"
FILE_MODE = 0o644
DIR_MODE = 0o755


def safe_join(root: Path, rel: str) -> Path:
    """root/rel, refusing any rel that would leave root."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in rel:
        raise PublishError(f"refusing to write outside the publish folder: {rel!r}")
    return root.joinpath(*pure.parts)


_TEMP_NUMBERS = itertools.count()


def _write_temp(folder: Path, data: bytes) -> Path:
    """A new temp file in folder holding data, mode 0644 whatever the umask.

    Named after the process and a counter (tempfile.mkstemp draws random names, a third
    of the cost of staging a small page); O_EXCL still refuses any file already there.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        tmp = folder / f"{TEMP_PREFIX}{os.getpid()}-{next(_TEMP_NUMBERS)}.tmp"
        try:
            fd = os.open(tmp, flags, FILE_MODE)
        except FileExistsError:
            continue  # left by a killed process that had the same pid
        break
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        _unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _makedirs(folder: Path) -> None:
    if folder.is_dir():
        return
    missing: list[Path] = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    if not probe.is_dir():
        raise PublishError(f"{probe} is in the way of a folder")
    for item in reversed(missing):
        with suppress(FileExistsError):
            item.mkdir(mode=DIR_MODE)
        os.chmod(item, DIR_MODE)


Staged = tuple[str, Path, Path]
"""A file written beside its target: (publish path, temp file, target)."""


class Publisher:
    """Writes files under the publish folder, skipping those whose bytes are unchanged.

    Changed files are staged as temp files beside their targets and renamed into place
    in batches, after one filesystem sync per batch: each file is always either its
    old or its new complete version, at the cost of one sync instead of one per file.
    """

    BATCH_FILES = 2000
    FSYNC_EACH_BELOW = 16

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[str] = []
        self._dirs: set[Path] = set()
        self._pending: list[tuple[str, Path, Path]] = []
        self._made: set[Path] = set()  # folders known to exist (in this process)

    def write(self, rel: str, data: bytes) -> bool:
        """Stage rel if its bytes differ (renamed into place in batches); True if it will change."""
        staged = self.stage(rel, data)
        if staged is None:
            return False
        self.adopt([staged])
        return True

    def adopt(self, items: Iterable[Staged]) -> None:
        """Take staged files (possibly from worker processes) into the next batch."""
        for item in items:
            self._pending.append(item)
            if len(self._pending) >= self.BATCH_FILES:
                self.flush()

    def stage(self, rel: str, data: bytes) -> Staged | None:
        """Write data to a temp file beside rel, unless rel already holds exactly data."""
        path = safe_join(self.root, rel)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            raise PublishError(f"{path}: a file is in the way of a folder") from None
        else:
            if stat.S_ISDIR(st.st_mode):
                raise PublishError(f"{path}: a folder is in the way of a file")
            if st.st_size == len(data) and path.read_bytes() == data:
                return None
        try:
            if path.parent not in self._made:
                _makedirs(path.parent)
                self._made.add(path.parent)
            tmp = _write_temp(path.parent, data)
        except OSError as exc:
            self.abort()
            raise PublishError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return (rel, tmp, path)

    def flush(self) -> None:
        """Make staged files durable, then rename them into place."""
        if not self._pending:
            return
        try:
            if len(self._pending) < self.FSYNC_EACH_BELOW:
                for _, tmp, _ in self._pending:
                    _fsync_path(tmp)
            else:
                _sync_filesystem(self.root)
            for rel, tmp, path in self._pending:
                os.replace(tmp, path)
                self._dirs.add(path.parent)
                self.written.append(rel)
        except OSError as exc:
            self.abort()
            raise PublishError(f"{self.root}: cannot write: {exc.strerror or exc}") from None
        self._pending = []

    def abort(self) -> None:
        """Drop staged files that were not renamed yet (their targets stay as they were),
        and the folders made for them that are empty now."""
        for _, tmp, _ in self._pending:
            with suppress(OSError):
                tmp.unlink()
            self.prune(tmp.parent)
        self._pending = []

    def remove(self, rel: str) -> None:
        """Delete a file this tool wrote earlier and no longer produces, then the folders
        that held it while they are empty (also when the file was already gone: a killed
        build may have removed it and not yet its folder)."""
        path = safe_join(self.root, rel)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise PublishError(f"{path}: cannot remove: {exc.strerror}") from None
        else:
            self._dirs.add(path.parent)
        self.prune(path.parent)

    def prune(self, folder: Path) -> None:
        """Remove folder and then its parents while they are empty, never the publish
        folder itself.

        Only empty folders go (rmdir): a folder holding anything else, such as a file
        of the user's that this tool never wrote, stays with it.
        """
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except FileNotFoundError:
                pass  # already gone: its parent may be empty all the same
            except OSError:
                return  # not empty (or not removable): it and its parents stay
            self._made.discard(folder)
            self._dirs.discard(folder)
            self._dirs.add(folder.parent)
            folder = folder.parent

    def listing(self) -> set[str]:
        """Every file in the publish folder, as relative paths."""
        found: set[str] = set()
        stack = [("", str(self.root))]
        while stack:
            prefix, folder = stack.pop()
            try:
                entries = os.scandir(folder)
            except OSError:
                continue
            with entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((prefix + entry.name + "/", entry.path))
                    else:
                        found.add(prefix + entry.name)
        return found

    def folder_times(self, folders: Iterable[str]) -> list[tuple[str, int]]:
        """(folder, mtime_ns) of folders of the publish folder ('' is the folder itself);
        a folder that is gone gets -1."""
        times: list[tuple[str, int]] = []
        for folder in folders:
            try:
                path = safe_join(self.root, folder) if folder else self.root
                times.append((folder, os.stat(path).st_mtime_ns))
            except OSError:
                times.append((folder, -1))
        return times

    def untouched_since(self, recorded: Sequence[Sequence[str | int]], wall_now: float) -> bool:
        """Whether no file was added to or removed from the recorded folders since their
        (folder, mtime_ns) were taken: then the files there are still the ones written.

        A folder changed in the last two seconds does not count as untouched (file systems
        with coarse timestamps could hide a change made in the same tick).
        """
        if not recorded:
            return False
        now_ns = int(wall_now * 1e9)
        for folder, mtime_ns in recorded:
            if not isinstance(folder, str) or not isinstance(mtime_ns, int):
                return False
            if mtime_ns < 0 or now_ns - mtime_ns < 2_000_000_000:
                return False
        return list(self.folder_times(str(f) for f, _ in recorded)) == [
            (str(f), int(t)) for f, t in recorded
        ]

    def exists(self, rel: str) -> bool:
        """Whether rel is present in the publish folder."""
        return safe_join(self.root, rel).is_file()

    def commit(self) -> None:
        """Flush the last batch and fsync the folders whose entries changed."""
        self.flush()
        for folder in self._dirs:
            try:
                _fsync_path(folder)
            except OSError:
                continue
        self._dirs.clear()

    def sweep(self) -> int:
        """Delete temp files a killed or interrupted build left behind, and the folders
        made for them that are empty now; how many were found. Failures are ignored:
        this also runs on the way out of a failed build, which must keep its error."""
        found = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(TEMP_PREFIX) and name.endswith(".tmp"):
                    with suppress(OSError):
                        os.unlink(os.path.join(folder, name))
                    found += 1
                    self.prune(Path(folder))
        return found


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_filesystem(root: Path) -> None:
    """syncfs(2) on the filesystem holding root (os.sync() where syncfs is missing)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    syncfs = getattr(libc, "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
