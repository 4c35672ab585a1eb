"""Spreading a cold build over the machine's cores (fork, so work is shared, not pickled)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Generator
from typing import Any

# The task of the current fork_map; set before the pool forks, so workers inherit it.
_TASK: Callable[[int], Any] | None = None


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

    Close the generator (contextlib.closing) when not consuming it to the end: that
    terminates the workers and waits for them.
    """
    global _TASK
    _TASK = task
    bounds = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    try:
        with multiprocessing.get_context("fork").Pool(workers, _worker_signals) as pool:
            yield from pool.imap(_run_chunk, bounds)
    finally:
        _TASK = None


def _worker_signals() -> None:
    """In a worker: Ctrl-C is the parent's to handle (it ends the pool, then removes the
    workers' temp files), and SIGTERM, which ends the pool, simply ends the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    assert _TASK is not None
    start, end = bounds
    return [_TASK(index) for index in range(start, end)]
