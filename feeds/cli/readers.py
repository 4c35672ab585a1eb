"""feeds web, feeds bounces, and the readers' side of feeds subscribers (list, export, forget)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime
from pathlib import Path

from feeds.cli.context import EXIT_OK, EXIT_USAGE, Context
from feeds.cli.guards import require_site
from feeds.store.backend import Conn
from feeds.store.schema import open_state

log = logging.getLogger("feeds")


def cmd_web(args: argparse.Namespace, ctx: Context) -> int:
    """Serve the readers' endpoint until SIGINT/SIGTERM."""
    from feeds.web.app import serve

    require_site(ctx)
    zone = ctx.config.site.tz
    serve(ctx.config, lambda: datetime.now(zone), args.bind, args.port)
    return EXIT_OK


def cmd_bounces(args: argparse.Namespace, ctx: Context) -> int:
    """Handle new bounces and mailed unsubscribes once each; one counts line with -v."""
    from feeds.errors import ConfigError
    from feeds.mail.bounces import read_bounces

    require_site(ctx)
    maildir = Path(args.maildir) if args.maildir else None
    mbox = Path(args.mbox) if args.mbox else None
    if maildir is None and mbox is None and not ctx.config.bounces.configured:
        raise ConfigError("bounces.imap_host is not set: give --maildir DIR or --mbox FILE")
    conn = open_state(ctx.config)
    try:
        counts = read_bounces(ctx.config, conn, ctx.now, maildir=maildir, mbox=mbox)
    finally:
        conn.close()
    log.info(
        "%d messages: %d disabled, %d soft bounces, %d unsubscribed, %d ignored, %d handled before",
        counts.messages,
        counts.disabled,
        counts.soft,
        counts.unsubscribed,
        counts.ignored,
        counts.skipped,
    )
    return EXIT_OK


def subscribers_extra(args: argparse.Namespace, ctx: Context, conn: Conn) -> int:
    """subscribers list [--all] | export ADDRESS | forget ADDRESS."""
    from feeds.mail.subscribers import normalize
    from feeds.store import signups
    from feeds.store.manifest import transaction

    if args.action == "list":
        for person in signups.all_people(conn):
            if person.status != "active" and not args.all:
                continue
            cells = [person.email, person.name] + ([person.status] if args.all else [])
            print("\t".join(cells).rstrip("\t") if not args.all else "\t".join(cells))
        return EXIT_OK
    address = normalize(args.email)
    if args.action == "export":
        found = signups.export(conn, address)
        if found is None:
            print(f"feeds: {address}: nothing stored", file=sys.stderr)
            return EXIT_USAGE
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return EXIT_OK
    with transaction(conn):
        erased = signups.forget(conn, address)
    if not erased:
        print(f"feeds: {address}: nothing stored", file=sys.stderr)
        return EXIT_USAGE
    log.info("%s: erased", address)
    return EXIT_OK
