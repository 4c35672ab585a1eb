"""feeds digest, feeds subscribers."""

from __future__ import annotations

import argparse

from feeds.cli import Context
from feeds.errors import FeedsError


def cmd_digest(args: argparse.Namespace, ctx: Context) -> int:
    """Write the week's digest; with --send, deliver it exactly once per subscriber."""
    raise FeedsError("feeds digest is not available yet")


def cmd_subscribers(args: argparse.Namespace, ctx: Context) -> int:
    """add | remove | list | import subscribers in the state database."""
    raise FeedsError("feeds subscribers is not available yet")
