"""feeds init, feeds run, feeds watch."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from feeds.cli.context import EXIT_OK, EXIT_UNEXPECTED, Context
from feeds.cli.guards import refuse_clock_ahead, require_site
from feeds.errors import ConfigError
from feeds.store.lock import LockBusy

log = logging.getLogger("feeds")


def cmd_init(args: argparse.Namespace, ctx: Context) -> int:
    """Create a new site folder and print the next two commands."""
    from feeds.site.scaffold import create_site

    target = Path(args.dir)
    created = create_site(target, ctx.now)
    print(f"Created {args.dir}: {', '.join(created)}")
    print("Next:")
    print(f"  cd {_quote(args.dir)} && feeds build")
    print("  feeds serve")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    """One cron tick: build, then the due digest; exits 0 at once if another run holds the lock,
    1 with one line naming the holder when it has held it longer than lock.max_age."""
    from feeds.cli.notices import stale_lock_line
    from feeds.run.tick import locked_tick

    require_site(ctx)
    refuse_clock_ahead(
        ctx, "feeds run would publish and send mail; use feeds build --out DIR or digest --dry-run"
    )
    try:
        result = locked_tick(ctx.config, ctx.now, wait=0)
    except LockBusy as busy:
        stale = stale_lock_line(ctx.config.paths.state, busy.holder, ctx.config.lock.max_age)
        if stale is not None:  # cron mails this: the site has stood still for too long
            print(f"feeds: {stale}", file=sys.stderr)
            return EXIT_UNEXPECTED
        log.debug("another feeds process holds the lock; nothing to do")
        return EXIT_OK
    built = result.build
    for error in (*built.skipped, *built.warnings):
        ctx.report(error)
    log.info(
        "published %d articles (%d new), wrote %d files, removed %d",
        built.published,
        len(built.new),
        len(built.written),
        len(built.removed),
    )
    if result.digest is not None and result.digest.week is not None:
        log.info("%s", result.digest.summary)
    return result.exit_code


def cmd_watch(args: argparse.Namespace, ctx: Context) -> int:
    """The scheduler daemon, until SIGTERM or SIGINT."""
    require_site(ctx)
    if getattr(args, "now", None) or os.environ.get("FEEDS_NOW"):
        raise ConfigError(
            "feeds watch runs on the real clock; --now and FEEDS_NOW are for one-shot commands"
        )
    seeds = ctx.config.paths.seeds
    if not seeds.is_dir():
        raise ConfigError(f"paths.seeds: folder {seeds} not found")
    from feeds.run.schedule import Daemon

    return Daemon(ctx.config, ctx.seeds_label, ctx.verbose).run()


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)
