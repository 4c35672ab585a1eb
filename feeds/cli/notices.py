"""What a person waiting at a terminal is told: one line each, on stderr.

Under cron (stderr not a terminal, no -v) success stays silent, so cron mails only problems;
on a terminal, or with -v, a command says what it waits for and what it did.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from feeds.mail.digest_run import DigestTick
from feeds.store.lock import LOCK_NAME, LockHolder


def tell(line: str, verbose: int) -> None:
    """Print `feeds: line` on stderr when it is a terminal or with -v; else nothing."""
    if verbose > 0 or sys.stderr.isatty():
        print(f"feeds: {line}", file=sys.stderr, flush=True)


def lock_wait_notice(state_dir: Path, verbose: int) -> Callable[[LockHolder | None], None]:
    """The on_wait callback of publish.locked(): says once that we wait, and for whom."""

    def notice(holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another feeds process"
        tell(f"waiting for the lock {state_dir / LOCK_NAME}, held by {who}", verbose)

    return notice


def stale_lock_line(state_dir: Path, holder: LockHolder | None, max_age: float) -> str | None:
    """The one line `feeds run` prints when the lock has been held longer than lock.max_age
    (None while it is younger, or when no holder was recorded)."""
    if holder is None:
        return None
    age = holder.age(time.time())
    if age <= max_age:
        return None
    return (
        f"the lock {state_dir / LOCK_NAME} is held by {holder.describe()}"
        f" ({age / 60:.0f} min, longer than lock.max_age = {max_age:g} s); is that process stuck?"
    )


def count(number: int, noun: str) -> str:
    """`1 article`, `5 articles`: the CLI speaks English, where only one takes the singular."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def digest_summary(tick: DigestTick, send: bool) -> str:
    """`digests/2026-W48: 5 articles; sent 5, failed 0, waiting 0` (or what was written)."""
    if tick.week is None:
        if send:
            return f"no digest due; sent {tick.sent}, failed {tick.failed}, waiting {tick.deferred}"
        return "no digest due"
    name = f"digests/{tick.week}: {count(tick.articles, 'article')}"
    if not send:
        return f"{name}; written, nothing sent (no --send)"
    return f"{name}; sent {tick.sent}, failed {tick.failed}, waiting {tick.deferred}"
