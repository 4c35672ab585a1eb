"""feeds init, feeds run, feeds watch."""

from __future__ import annotations

import argparse

from feeds.cli import Context
from feeds.errors import FeedsError


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    """Create a new site folder."""
    raise FeedsError("feeds init is not available yet")


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    """One cron tick."""
    raise FeedsError("feeds run is not available yet")


def cmd_watch(args: argparse.Namespace, ctx: Context) -> int:
    """The scheduler daemon."""
    raise FeedsError("feeds watch is not available yet")
