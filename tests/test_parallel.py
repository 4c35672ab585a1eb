"""fork_map: results in order, a task's exception raised in the parent, and a worker that dies
(SIGKILL, or SIGTERM to the whole process group) never leaves the parent waiting for ever."""

from __future__ import annotations

import os
import signal
from contextlib import closing

import pytest

from feeds.read.parallel import WorkerLost, fork_map


def square(index: int) -> int:
    return index * index


def test_results_come_back_in_order_whatever_the_striping() -> None:
    for workers, chunk in ((1, 7), (2, 3), (3, 1), (4, 50)):
        got = [x for part in fork_map(square, 101, workers, chunk) for x in part]
        assert got == [i * i for i in range(101)]


def test_an_exception_in_a_task_is_raised_in_the_parent() -> None:
    def task(index: int) -> int:
        if index == 42:
            raise ValueError("forty-two")
        return index

    with pytest.raises(ValueError, match="forty-two"):
        list(fork_map(task, 100, 2, 10))


def test_a_worker_killed_mid_task_is_an_error_not_a_hang() -> None:
    # multiprocessing.Pool waits for a killed worker's task for ever.
    def task(index: int) -> int:
        if index == 13:
            os.kill(os.getpid(), signal.SIGKILL)
        return index

    with pytest.raises(WorkerLost):
        list(fork_map(task, 60, 2, 5))


def test_closing_early_reaps_every_worker() -> None:
    parent = os.getpid()

    def task(index: int) -> int:
        return os.getpid() if os.getpid() != parent else -1

    with closing(fork_map(task, 1000, 3, 10)) as chunks:
        pids = set(next(chunks))
    with pytest.raises(ChildProcessError):  # nothing left to reap: all were waited for
        os.waitpid(-1, os.WNOHANG)
    assert pids and parent not in pids
