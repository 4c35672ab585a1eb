"""Ctrl-C (SIGINT) and SIGTERM in the middle of a build (issue 14.11): the build removes the
temp files it and its worker processes staged, ends its workers, and exits 130 (SIGINT) or
143 (SIGTERM), 128 + the signal as a shell reports it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_crash import config_text, feeds_command, files_under, is_temp, write_seeds

ARTICLES = 1100  # over feeds.read.corpus.PARALLEL_THRESHOLD: rendered by forked workers


def staged(out: Path) -> bool:
    """Whether a temp file is in the articles folder (the build is mid-write)."""
    try:
        with os.scandir(out / "articles") as entries:
            return any(is_temp(entry.name) for entry in entries)
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    ("signum", "whole_group", "status"),
    [
        (signal.SIGINT, True, 130),  # Ctrl-C in a terminal: the build and its workers
        (signal.SIGTERM, False, 143),  # kill PID, as a service manager or a user sends it
        (signal.SIGTERM, True, 143),
    ],
)
def test_an_interrupted_build_leaves_no_temp_file_and_exits_128_plus_the_signal(
    tmp_path: Path, signum: int, whole_group: bool, status: int
) -> None:
    write_seeds(tmp_path / "seeds", ARTICLES, revision=1)
    config = tmp_path / "feeds.toml"
    config.write_text(config_text("public", "state"), encoding="utf-8")
    out = tmp_path / "public"
    process = subprocess.Popen(
        feeds_command(config),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        while not staged(out):
            assert process.poll() is None, "the build finished before it could be interrupted"
            assert time.monotonic() < deadline, "the build never started writing"
            time.sleep(0.005)
        if whole_group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == status, stderr.decode(errors="replace")
    assert b"Traceback" not in stderr
    assert [rel for rel in files_under(out) if is_temp(rel)] == []
    with pytest.raises(ProcessLookupError):  # no worker process outlived the build
        os.killpg(process.pid, 0)
