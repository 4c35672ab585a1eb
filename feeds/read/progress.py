"""Progress bars for long work, on a terminal only (cron and pipes stay quiet)."""

from __future__ import annotations

import os
import sys
from typing import Any

# The size used when the terminal reports none: `script`, a tmux pane being created and many
# CI pseudo-terminals say 0x0, and tqdm 4.70 then computes -1 rows and draws nothing at all.
FALLBACK_SIZE = (80, 24)


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, count: int) -> None:
        """Nothing to show."""


def bar_shape(fd: int) -> tuple[int, int]:
    """(columns, rows) for tqdm: the terminal's size less one, as tqdm measures it itself,
    with FALLBACK_SIZE for a side the terminal reports as 0 (or cannot tell)."""
    try:
        columns, rows = os.get_terminal_size(fd)
    except OSError:
        columns, rows = 0, 0
    columns = columns if columns > 1 else FALLBACK_SIZE[0]
    rows = rows if rows > 1 else FALLBACK_SIZE[1]
    return columns - 1, rows - 1


def progress(total: int, unit: str, description: str) -> Any:
    """A tqdm bar on stderr when it is a terminal; it appears only after 2 s of work.

    FEEDS_PROGRESS_DELAY sets that delay in seconds (the tests set 0). The size is passed
    explicitly so that a terminal of unknown size still shows the bar.
    """
    if not sys.stderr.isatty() or total < 500:
        return _NoBar()
    from tqdm import tqdm

    try:
        delay = float(os.environ.get("FEEDS_PROGRESS_DELAY", "2"))
    except ValueError:
        delay = 2.0
    ncols, nrows = bar_shape(sys.stderr.fileno())
    return tqdm(
        total=total,
        unit=unit,
        desc=description,
        delay=delay,
        leave=False,
        file=sys.stderr,
        ncols=ncols,
        nrows=nrows,
    )
