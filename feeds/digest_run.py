"""One digest tick: create the digest of the latest passed slot, then deliver what is due."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from feeds.config import Config


@dataclass(frozen=True)
class DigestTick:
    """What one tick did: the digest acted on (None: nothing due) and delivery counts."""

    week: str | None
    articles: int
    sent: int
    failed: int
    deferred: int
    exit_code: int


def digest_tick(
    config: Config,
    now: datetime,
    conn: sqlite3.Connection,
    *,
    send: bool = True,
    week: str | None = None,
) -> DigestTick:
    """Create the digest of the latest passed slot (or `week`) if due; with send, deliver.

    The caller holds the state lock (feeds.publish.locked); this function never takes it.
    """
    return DigestTick(None, 0, 0, 0, 0, 0)
