"""What every command handler gets (Context) and the exit codes it may return (SPEC 5)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

from feeds.config import Config
from feeds.errors import SeedError

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 3
EXIT_UNDELIVERED = 4
LOCK_WAIT = 60.0
CLOCK_TOLERANCE = timedelta(seconds=60)  # --now this far past the real clock counts as ahead

@dataclass(frozen=True)
class Context:
    """What every command gets: the loaded config, the clock, verbosity."""

    config: Config
    now: datetime
    verbose: int
    seeds_label: str
    ahead: bool = False  # --now / FEEDS_NOW is ahead of the real clock
    own_out: bool = False  # --out names a folder apart from the configured publish folder

    def report(self, error: SeedError) -> None:
        """One stderr line for a skipped seed: SEEDS/NAME: reason."""
        print(f"{self.seeds_label}/{error.path}: {error.reason}", file=sys.stderr)
