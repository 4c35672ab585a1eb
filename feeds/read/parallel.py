"""Spreading a cold build over the machine's cores (fork, so work is shared, not pickled).

Our own few lines instead of multiprocessing.Pool: a Pool forks replacement workers from a
helper thread and joins them on terminate, so a SIGTERM sent to the whole process group
(as systemd and `kill -- -PGID` do) could leave the parent joining a fresh worker for ever.
Here the workers are forked once, from the calling thread, with SIGINT and SIGTERM blocked
across the fork; on any exit the parent kills what is left and reaps it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable, Generator
from typing import Any, BinaryIO

_HELD = {signal.SIGINT, signal.SIGTERM}


class WorkerLost(RuntimeError):
    """A worker process ended without sending its results (killed from outside)."""


def workers_available(jobs: int, threshold: int) -> int:
    """How many worker processes to use: none for small jobs or in threaded processes."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if jobs < threshold or not cores or cores < 2:
        return 0
    if threading.active_count() > 1:
        return 0  # forking a threaded process (the watch daemon) can copy a held lock
    return min(cores, 4)


def fork_map(
    task: Callable[[int], Any], count: int, workers: int, chunk: int
) -> Generator[list[Any], None, None]:
    """Run task(i) for i in range(count) in forked workers; yield each chunk's results in order.

    Chunk j goes to worker j % workers, which sends its chunks in order through its own pipe,
    so reading the pipes round-robin yields them in order. An exception in a task is raised
    here. Close the generator (contextlib.closing) when not consuming it to the end: that
    kills the workers and waits for them.
    """
    bounds = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    workers = max(1, min(workers, len(bounds)))
    children: list[tuple[int, BinaryIO]] = []
    try:
        for number in range(workers):
            children.append(_fork(task, bounds[number::workers]))
        for index in range(len(bounds)):
            pid, pipe = children[index % workers]
            try:
                kind, payload = pickle.load(pipe)
            except EOFError:
                raise WorkerLost(f"worker {pid} ended without its results") from None
            if kind == "error":
                raise payload
            yield payload
    finally:
        _end(children)


def _fork(task: Callable[[int], Any], mine: list[tuple[int, int]]) -> tuple[int, BinaryIO]:
    """Fork one worker for the chunks `mine`; its pid and the read end of its pipe."""
    read_end, write_end = os.pipe()
    # Blocked across the fork: a signal in the child before it sets its own handlers would
    # run the parent's (which raises into the build).
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # SIGTERM simply ends the worker
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            with open(write_end, "wb") as out:
                _work(task, mine, out)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # never back into the parent's code (atexit, finally blocks)
    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    os.close(write_end)
    return pid, open(read_end, "rb")


def _work(task: Callable[[int], Any], mine: list[tuple[int, int]], out: BinaryIO) -> None:
    for start, end in mine:
        try:
            message: tuple[str, Any] = ("ok", [task(index) for index in range(start, end)])
        except Exception as exc:
            message = ("error", exc)
        try:
            data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception that does not pickle: its text then
            data = pickle.dumps(("error", RuntimeError(repr(exc))), pickle.HIGHEST_PROTOCOL)
        out.write(data)
        out.flush()
        if message[0] == "error":
            return


def _end(children: list[tuple[int, BinaryIO]]) -> None:
    """Kill the workers that are still running and reap every one."""
    for pid, pipe in children:
        pipe.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, _pipe in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
