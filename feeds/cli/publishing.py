"""feeds build, feeds check, feeds serve."""

from __future__ import annotations

import argparse
import logging
import sqlite3

from feeds.cli.context import EXIT_OK, EXIT_SKIPPED, LOCK_WAIT, Context
from feeds.cli.guards import refuse_clock_ahead, scratch_state
from feeds.cli.notices import lock_wait_notice
from feeds.config import Config
from feeds.errors import ConfigError
from feeds.publish.build import BuildResult, build
from feeds.read.corpus import publishable, read_corpus
from feeds.site.plan import resolve_images
from feeds.store.schema import locked_state, migrate

log = logging.getLogger("feeds")


def cmd_build(args: argparse.Namespace, ctx: Context) -> int:
    """Publish the seeds; skipped files are reported, --strict makes them exit 3.

    With the clock ahead, only into an --out folder of its own, on a copy of the state.
    """
    if ctx.ahead and not ctx.own_out:
        refuse_clock_ahead(ctx, "it would publish future articles; pass --out DIR elsewhere")
    if ctx.ahead:
        with scratch_state(ctx.config) as scratch:
            result = _locked_build(scratch, ctx)
    else:
        result = _locked_build(ctx.config, ctx)
    for error in (*result.skipped, *result.warnings):
        ctx.report(error)
    log.info(
        "published %d articles (%d new), wrote %d files, removed %d",
        result.published,
        len(result.new),
        len(result.written),
        len(result.removed),
    )
    for rel in result.unsettled:
        log.info("%s/%s is still being written; left for the next run", ctx.seeds_label, rel)
    flagged = result.skipped or result.warnings
    return EXIT_SKIPPED if flagged and args.strict else EXIT_OK


def _locked_build(config: Config, ctx: Context) -> BuildResult:
    notice = lock_wait_notice(config.paths.state, ctx.verbose)
    with locked_state(config, LOCK_WAIT, notice) as conn:
        return build(config, ctx.now, conn)


def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    """Read every seed as a build would, publish nothing; exit 3 when any would be skipped
    or published with a warning (something cut or dropped)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    corpus = read_corpus(ctx.config, conn)
    live, _next_due = publishable(corpus.metas, ctx.now)
    _images, image_warnings = resolve_images(ctx.config, corpus.metas)
    warnings = (*corpus.warnings, *image_warnings)
    for error in (*corpus.errors, *warnings):
        ctx.report(error)
    drafts = sum(1 for meta in corpus.metas if meta.draft)
    log.info(
        "%d seeds readable: %d publishable now, %d drafts, %d held back until due; %d skipped"
        ", %d warnings",
        len(corpus.metas),
        len(live),
        drafts,
        len(corpus.metas) - len(live) - drafts,
        len(corpus.errors),
        len(warnings),
    )
    return EXIT_SKIPPED if corpus.errors or warnings else EXIT_OK


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    """Preview the publish folder over HTTP until interrupted."""
    from feeds.web.serve import serve

    out = ctx.config.paths.out
    if not out.is_dir():
        # Serving nothing would answer 404 to every page; say why instead.
        raise ConfigError(f"paths.out: publish folder {out} not found; run feeds build first")
    serve(out, args.bind, args.port)
    return EXIT_OK
