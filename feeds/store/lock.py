"""The state folder's lock: one flock, so two runs never write at once and a killed process
never leaves it stale. The holder records its pid and start time in the file, so that others
can say who they wait for."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.errors import LockTimeout
from feeds.store.backend import BUILD_LOCK_NS, PgConnection

LOCK_NAME = "lock"


@dataclass(frozen=True)
class LockHolder:
    """Who holds the state lock: written into the lock file by the process that took it."""

    pid: int
    started: float  # real clock (time.time()) when it took the lock, never --now

    def age(self, wall: float) -> float:
        """Seconds the lock has been held at wall-clock time `wall`."""
        return max(0.0, wall - self.started)

    def describe(self) -> str:
        """`pid 1234 since 2026-11-27 03:00:05 UTC`: enough to find it in ps and the logs."""
        when = datetime.fromtimestamp(self.started, UTC)
        return f"pid {self.pid} since {when:%Y-%m-%d %H:%M:%S} UTC"


class LockBusy(LockTimeout):
    """The lock is held and the caller asked not to wait."""

    def __init__(self, message: str, holder: LockHolder | None = None) -> None:
        super().__init__(message)
        self.holder = holder


def read_holder(state_dir: Path) -> LockHolder | None:
    """The holder recorded in state/lock, or None when none is (or it is half written)."""
    try:
        record = json.loads((state_dir / LOCK_NAME).read_bytes() or b"null")
        return LockHolder(int(record["pid"]), float(record["started"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _record_holder(fd: int) -> None:
    """Write our pid and start time into the lock file we just locked (in place: replacing
    the file would give later processes a different inode to lock)."""
    data = json.dumps({"pid": os.getpid(), "started": round(time.time(), 3)}).encode() + b"\n"
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


@contextmanager
def locked(
    state_dir: Path, wait: float, on_wait: Callable[[LockHolder | None], None] | None = None
) -> Iterator[None]:
    """Hold the flock on state/lock; wait up to `wait` seconds (0: LockBusy at once).

    on_wait(holder) is called once when the lock is busy and we start waiting for it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def take() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                return False
            return True

        _wait_for(take, lambda: read_holder(state_dir), wait, on_wait, str(state_dir / LOCK_NAME))
        _record_holder(fd)
        yield
    finally:
        os.close(fd)


# -- PostgreSQL: the same lock for several hosts ---------------------------------------------

_PG_BUILD_KEY = 1  # the build lock's key in backend.BUILD_LOCK_NS (0 is the migration lock)


def pg_read_holder(conn: PgConnection) -> LockHolder | None:
    """The session holding the build lock, as its application_name records it."""
    row = conn.execute(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ?"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (BUILD_LOCK_NS, _PG_BUILD_KEY),
    ).fetchone()
    try:
        _, pid, started = str(row[0]).split()
        return LockHolder(int(pid), float(started))
    except (TypeError, ValueError):
        return None


@contextmanager
def pg_locked(
    conn: PgConnection,
    wait: float,
    on_wait: Callable[[LockHolder | None], None] | None = None,
) -> Iterator[None]:
    """locked() for state in PostgreSQL: a session advisory lock on conn, polled like the
    flock. The server drops it with the session, so a killed host never leaves it stale, and
    the build commits on this same session: none commits after losing it."""
    def take() -> bool:
        return bool(
            conn.execute(
                "SELECT pg_try_advisory_lock(?, ?)", (BUILD_LOCK_NS, _PG_BUILD_KEY)
            ).fetchone()[0]
        )

    _wait_for(take, lambda: pg_read_holder(conn), wait, on_wait, "the state lock in PostgreSQL")
    name = f"feeds {os.getpid()} {time.time():.3f}"
    conn.execute("SELECT set_config('application_name', ?, false)", (name,))
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(?, ?)", (BUILD_LOCK_NS, _PG_BUILD_KEY))


def _wait_for(
    take: Callable[[], bool],
    holder: Callable[[], LockHolder | None],
    wait: float,
    on_wait: Callable[[LockHolder | None], None] | None,
    what: str,
) -> None:
    """Poll take() until it holds the lock: LockBusy at once when wait is 0, on_wait(holder)
    once when waiting starts, LockTimeout naming the lock and its holder after wait seconds."""
    deadline = time.monotonic() + wait
    waiting = False
    while not take():
        if wait <= 0:
            raise LockBusy("another feeds process is running", holder())
        if not waiting and on_wait is not None:
            on_wait(holder())
        waiting = True
        if time.monotonic() >= deadline:
            found = holder()
            who = f" ({found.describe()})" if found else ""
            raise LockTimeout(
                f"another feeds process has held {what} for more than {wait:.0f} s{who}"
            )
        time.sleep(0.05)
