"""A long build shows a progress bar on a terminal, sized or not, and nothing when stderr is
not one."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import Site

SEEDS = 600  # progress bars start at 500 items


def _many_seeds(site: Site) -> None:
    for n in range(SEEDS):
        site.seed(f"{n:04d}.txt", f"title: Новина {n}\ndate: 2026-01-{n % 28 + 1:02d}\n\nТекст.\n")


def _build_on_a_terminal(site: Site, rows: int, columns: int) -> str:
    master, slave = pty.openpty()
    # 0x0 is what `script`, a tmux pane being created and many CI pseudo-terminals report.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "FEEDS_PROGRESS_DELAY": "0"}
    env.pop("FEEDS_CONFIG", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds",
            "--config",
            str(site.config_path),
            "build",
            "--now",
            "2026-03-01",
        ],
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=site.root,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the build is over
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(("rows", "columns"), [(0, 0), (24, 80), (30, 120)])
def test_a_build_on_a_terminal_shows_reading_and_writing_bars(
    site: Site, rows: int, columns: int
) -> None:
    _many_seeds(site)
    screen = _build_on_a_terminal(site, rows, columns)
    assert f"/{SEEDS} [" in screen  # the bar's counter, drawn whatever the tqdm version
    assert "seed/s" in screen
    assert "file/s" in screen


def test_a_build_without_a_terminal_prints_nothing(site: Site) -> None:
    _many_seeds(site)
    result = site.run("build", "--now", "2026-03-01", env={"FEEDS_PROGRESS_DELAY": "0"})
    assert result.returncode == 0
    assert result.stderr == ""
