"""feeds digest, feeds subscribers."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.cli.context import EXIT_OK, EXIT_UNDELIVERED, EXIT_USAGE, LOCK_WAIT, Context
from feeds.cli.guards import refuse_clock_ahead, require_site, scratch_state
from feeds.cli.notices import digest_summary, lock_wait_notice, tell
from feeds.config import Config
from feeds.store.schema import locked_state, open_state

if TYPE_CHECKING:
    from feeds.mail.digest_run import DigestTick

log = logging.getLogger("feeds")


def cmd_digest(args: argparse.Namespace, ctx: Context) -> int:
    """Write the week's digest; with --send, deliver it exactly once per subscriber.

    Any form needs a site: the digest is recorded in the state database, and that record
    decides what the subscribers get. With the clock ahead it sends nothing and writes
    nothing: it works on a copy of the state and a throwaway publish folder, and reports.
    """
    require_site(ctx)
    send = bool(args.send) and not args.dry_run
    if send:
        refuse_clock_ahead(ctx, "feeds digest --send would mail the future; use --dry-run")
    if ctx.ahead:
        with scratch_state(ctx.config, out=True) as scratch:
            tick = _locked_digest(scratch, ctx, send=False, week=args.week)
    else:
        tick = _locked_digest(ctx.config, ctx, send=send, week=args.week)
    if ctx.ahead:
        log.info("the clock is ahead: worked on a copy of the state; nothing written or sent")
    tell(digest_summary(tick, send), ctx.verbose)  # silent under cron, one line on a terminal
    if send and (tick.exit_code or tick.deferred):
        return EXIT_UNDELIVERED
    return EXIT_OK


def _locked_digest(config: Config, ctx: Context, *, send: bool, week: str | None) -> DigestTick:
    from feeds.mail.digest_run import digest_tick

    notice = lock_wait_notice(config.paths.state, ctx.verbose)
    with locked_state(config, LOCK_WAIT, notice) as conn:
        return digest_tick(config, ctx.now, conn, send=send, week=week)


def cmd_subscribers(args: argparse.Namespace, ctx: Context) -> int:
    """add | remove | list | import subscribers in the state database."""
    from feeds.mail import subscribers as subs

    require_site(ctx)
    conn = open_state(ctx.config)
    try:
        if args.action == "add":
            status = subs.add(conn, args.email, args.name, ctx.now)
            log.info("%s: %s", args.email.strip(), status.replace("_", " "))
        elif args.action == "remove":
            removed = subs.remove(conn, ctx.now, email=args.email, token=args.token)
            log.info("removed" if removed else "already removed")
        elif args.action in ("list", "export", "forget"):
            from feeds.cli.readers import subscribers_extra

            return subscribers_extra(args, ctx, conn)
        elif args.action == "import":
            result = subs.import_csv(conn, Path(args.file), ctx.now)
            for line in result.errors:
                print(f"feeds: {line}", file=sys.stderr)
            log.info(
                "imported %d new, %d already subscribed, %d unsubscribed earlier (kept out),"
                " %d invalid",
                result.added,
                result.existing,
                result.kept_removed,
                len(result.errors),
            )
            return EXIT_USAGE if result.errors else EXIT_OK
    except subs.SubscriberError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        conn.close()
    return EXIT_OK
