"""feeds build, feeds check, feeds serve."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sqlite3
import sys

from feeds.cli.context import EXIT_OK, EXIT_SKIPPED, LOCK_WAIT, Context
from feeds.cli.guards import refuse_clock_ahead, scratch_state
from feeds.cli.notices import lock_wait_notice
from feeds.config import Config
from feeds.errors import ConfigError
from feeds.publish.build import BuildResult, build
from feeds.read.corpus import publishable, read_corpus
from feeds.site.media import resolve_body_images
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
    images, image_warnings = resolve_images(ctx.config, corpus.metas)
    _media, media_warnings = resolve_body_images(ctx.config, corpus.metas, images.values())
    warnings = (*corpus.warnings, *image_warnings, *media_warnings)
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
    """Preview the publish folder over HTTP until interrupted; --watch: the live preview."""
    from feeds.web.serve import serve

    if args.watch:
        return _serve_live(args, ctx)
    if args.drafts:
        raise ConfigError("--drafts needs --watch: a publish folder never holds drafts")

    out = ctx.config.paths.out
    if not out.is_dir():
        # Serving nothing would answer 404 to every page; say why instead.
        raise ConfigError(f"paths.out: publish folder {out} not found; run feeds build first")
    serve(out, args.bind, args.port)
    return EXIT_OK


def cmd_new(args: argparse.Namespace, ctx: Context) -> int:
    """Write a new seed (a draft, dated now in site time) and print its path."""
    from feeds.site.newpost import NewPost, create_post

    tags = tuple(tag.strip() for tag in args.tags.split(",") if tag.strip())
    post = NewPost(args.title.strip(), args.section, tags, args.md)
    print(create_post(ctx.config, post, ctx.now))
    return EXIT_OK


def _serve_live(args: argparse.Namespace, ctx: Context) -> int:
    """The live preview: build into a temporary folder, rebuild and reload on changes."""
    from feeds.web.preview import Outcome, PreviewOptions, live_preview

    seeds = ctx.config.paths.seeds
    if not seeds.is_dir():
        raise ConfigError(f"paths.seeds: folder {seeds} not found")
    fixed = bool(getattr(args, "now", None) or os.environ.get("FEEDS_NOW"))
    options = PreviewOptions(args.bind, args.port, args.drafts, ctx.now if fixed else None)

    def report(outcome: Outcome) -> None:
        if isinstance(outcome, BuildResult):
            for error in (*outcome.skipped, *outcome.warnings):
                ctx.report(error)
            log.info("preview: %d articles, %d files", outcome.published, len(outcome.written))
        else:
            print(f"feeds: preview build failed: {outcome}", file=sys.stderr)

    with live_preview(ctx.config, options) as preview:
        print(f"previewing {ctx.seeds_label} on {preview.url} (Ctrl-C to stop)", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            preview.loop(report)
    return EXIT_OK
