"""Writing the publish folder: atomic replacement, unchanged files left alone, one lock."""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from feeds.errors import LockTimeout, PublishError

LOCK_NAME = "lock"
FILE_MODE = 0o644
DIR_MODE = 0o755


class LockBusy(LockTimeout):
    """The lock is held and the caller asked not to wait."""


def safe_join(root: Path, rel: str) -> Path:
    """root/rel, refusing any rel that would leave root."""
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in rel:
        raise PublishError(f"refusing to write outside the publish folder: {rel!r}")
    return root.joinpath(*pure.parts)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace path with data: temp file in the same folder, fsync, rename."""
    folder = path.parent
    _makedirs(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


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


class Publisher:
    """Writes files under the publish folder, skipping those whose bytes are unchanged."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[str] = []
        self._dirs: set[Path] = set()

    def write(self, rel: str, data: bytes) -> bool:
        """Write rel if its bytes differ; True when the file changed."""
        path = safe_join(self.root, rel)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            raise PublishError(f"{path}: a file is in the way of a folder") from None
        except IsADirectoryError:
            raise PublishError(f"{path}: a folder is in the way of a file") from None
        try:
            write_atomic(path, data)
        except IsADirectoryError:
            raise PublishError(f"{path}: a folder is in the way of a file") from None
        except OSError as exc:
            raise PublishError(f"{path}: cannot write: {exc.strerror or exc}") from None
        self._dirs.add(path.parent)
        self.written.append(rel)
        return True

    def remove(self, rel: str) -> None:
        """Delete a file this tool wrote earlier and no longer produces."""
        path = safe_join(self.root, rel)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise PublishError(f"{path}: cannot remove: {exc.strerror}") from None
        self._dirs.add(path.parent)

    def exists(self, rel: str) -> bool:
        """Whether rel is present in the publish folder."""
        return safe_join(self.root, rel).is_file()

    def sync(self) -> None:
        """fsync the folders whose entries changed, so the renames are durable."""
        for folder in self._dirs:
            try:
                fd = os.open(folder, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._dirs.clear()


@contextmanager
def locked(state_dir: Path, wait: float) -> Iterator[None]:
    """Hold the flock on state/lock; wait up to `wait` seconds (0: LockBusy at once)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if wait <= 0:
                    raise LockBusy("another feeds process is running") from None
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another feeds process has held {state_dir / LOCK_NAME}"
                        f" for more than {wait:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)
