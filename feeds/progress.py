"""Progress bars for long work, on a terminal only (cron and pipes stay quiet)."""

from __future__ import annotations

import os
import sys
from typing import Any


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, count: int) -> None:
        """Nothing to show."""


def progress(total: int, unit: str, description: str) -> Any:
    """A tqdm bar on stderr when it is a terminal; it appears only after 2 s of work.

    FEEDS_PROGRESS_DELAY sets that delay in seconds (the tests set 0).
    """
    if not sys.stderr.isatty() or total < 500:
        return _NoBar()
    from tqdm import tqdm

    try:
        delay = float(os.environ.get("FEEDS_PROGRESS_DELAY", "2"))
    except ValueError:
        delay = 2.0
    return tqdm(total=total, unit=unit, desc=description, delay=delay, leave=False, file=sys.stderr)
