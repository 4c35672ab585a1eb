"""The command line: parse arguments, call the library, print, pick the exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from feeds import __version__
from feeds.cli.context import (
    CLOCK_TOLERANCE,
    EXIT_OK,
    EXIT_UNDELIVERED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    Context,
)
from feeds.config import find_config_file, load_config
from feeds.errors import ConfigError, FeedsError, LockTimeout, MailError, SeedError
from feeds.store.backend import db_errors

log = logging.getLogger("feeds")


Handler = Callable[[argparse.Namespace, Context], int]


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="FILE",
        help="feeds.toml to use (default: $FEEDS_CONFIG, else ./feeds.toml)",
    )
    common.add_argument(
        "--now",
        default=argparse.SUPPRESS,
        metavar="ISO",
        help="fix the clock (also $FEEDS_NOW); naive times are site time",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="say more (-vv for debug)",
    )
    return common


def make_parser() -> argparse.ArgumentParser:
    """The full argument parser; options common to all commands work before or after it."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="feeds",
        parents=[common],
        description="Publish a folder of dated article files as feeds, a site and a digest.",
    )
    parser.add_argument("--version", action="version", version=f"feeds {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=help_text, description=help_text)

    p = add("init", "create a new site folder with feeds.toml, seeds/ and templates")
    p.add_argument("dir", metavar="DIR")
    for name, text in (
        ("build", "publish the seeds into the publish folder"),
        ("check", "lint the seeds and report what would be skipped"),
    ):
        p = add(name, text)
        p.add_argument("--seeds", metavar="DIR", help="seeds folder (default from config)")
        p.add_argument("--out", metavar="DIR", help="publish folder (default from config)")
        p.add_argument("--strict", action="store_true", help="exit 3 when any seed is skipped")
    p = add("digest", "write this week's digest and, with --send, mail it")
    p.add_argument("--week", metavar="YYYY-Www", help="which slot (default: the latest passed)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="mail it to the subscribers")
    mode.add_argument("--dry-run", action="store_true", help="write the files, send nothing")
    add("run", "one cron tick: build, then send the digest if one is due")
    add("watch", "daemon: rebuild on seed changes, send digests on schedule")
    p = add("new", "write a new seed file (a draft) and print its path")
    p.add_argument("title", metavar="TITLE")
    p.add_argument("--section", default="", metavar="NAME", help="sub-folder of the seeds folder")
    p.add_argument("--tags", default="", metavar="A,B", help="comma-separated tags")
    p.add_argument("--md", action="store_true", help="a Markdown (.md) seed instead of .txt")
    p = add("serve", "preview the publish folder on http://127.0.0.1:8000")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument(
        "--watch",
        action="store_true",
        help="live preview: build into a temporary folder, rebuild on changes, reload the page",
    )
    p.add_argument(
        "--drafts", action="store_true", help="with --watch: show drafts and future articles"
    )
    p = add("subscribers", "manage the digest's subscribers")
    subs = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = subs.add_parser("add", parents=[common], help="add a subscriber")
    s.add_argument("email")
    s.add_argument("--name", default="")
    s = subs.add_parser("remove", parents=[common], help="remove a subscriber")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("email", nargs="?")
    who.add_argument("--token", help="the subscriber's unsubscribe token")
    s = subs.add_parser("list", parents=[common], help="list active subscribers")
    s.add_argument("--all", action="store_true", help="every address, with its status")
    s = subs.add_parser("export", parents=[common], help="everything stored about one address")
    s.add_argument("email")
    s = subs.add_parser("forget", parents=[common], help="erase one address and its history")
    s.add_argument("email")
    s = subs.add_parser("import", parents=[common], help="import a CSV with an email column")
    s.add_argument("file", metavar="FILE.csv")
    p = add("web", "serve sign-up, confirm and unsubscribe under web.base_url")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p = add("bounces", "handle bounces and mailed unsubscribes (IMAP from [bounces])")
    box = p.add_mutually_exclusive_group()
    box.add_argument("--maildir", metavar="DIR", help="read a Maildir instead")
    box.add_argument("--mbox", metavar="FILE", help="read an mbox file instead")
    return parser


def _handlers() -> dict[str, Handler]:
    from feeds.cli.daemon import cmd_init, cmd_run, cmd_watch
    from feeds.cli.mailing import cmd_digest, cmd_subscribers
    from feeds.cli.publishing import cmd_build, cmd_check, cmd_new, cmd_serve
    from feeds.cli.readers import cmd_bounces, cmd_web

    return {
        "init": cmd_init,
        "build": cmd_build,
        "check": cmd_check,
        "new": cmd_new,
        "serve": cmd_serve,
        "digest": cmd_digest,
        "subscribers": cmd_subscribers,
        "run": cmd_run,
        "watch": cmd_watch,
        "web": cmd_web,
        "bounces": cmd_bounces,
    }


def setup_logging(verbose: int, timestamps: bool = False) -> None:
    """Quiet by default (cron mails only problems); -v our info, -vv our debug.

    The daemon (timestamps) logs one info line per publish by default. Other libraries'
    loggers (apscheduler, tzlocal, watchdog, ...) say only warnings, and info with -vv.
    """
    ours = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if timestamps:
        ours = logging.DEBUG if verbose >= 2 else logging.INFO
    fmt = "%(asctime)s %(levelname)s %(message)s" if timestamps else "feeds: %(message)s"
    others = logging.INFO if verbose >= 2 else logging.WARNING
    logging.basicConfig(level=others, format=fmt, stream=sys.stderr, force=True)
    logging.getLogger("feeds").setLevel(ours)


def make_context(args: argparse.Namespace) -> Context:
    """Load the config (with --seeds/--out overrides) and fix the clock."""
    from feeds.read.dates import DateError, parse_now

    # `init` makes a new site: whatever site it is run inside is none of its business.
    found = None if args.command == "init" else find_config_file(getattr(args, "config", None))
    config = load_config(found)
    configured_out = config.paths.out
    overrides: dict[str, Path] = {}
    seeds_arg = getattr(args, "seeds", None)
    if seeds_arg:
        overrides["seeds"] = Path(seeds_arg).resolve()
    if getattr(args, "out", None):
        overrides["out"] = Path(args.out).resolve()
    if overrides:
        config = config.replace_paths(**overrides)
    real_now = datetime.now(config.site.tz)
    raw_now = getattr(args, "now", None) or os.environ.get("FEEDS_NOW")
    if raw_now:
        try:
            now = parse_now(raw_now, config.site.tz)
        except DateError as exc:
            raise ConfigError(str(exc)) from None
    else:
        now = real_now
    label = seeds_arg.rstrip("/") if seeds_arg else config.seeds_label
    ahead = now > real_now + CLOCK_TOLERANCE
    own_out = "out" in overrides and _apart(overrides["out"], configured_out)
    return Context(config, now, getattr(args, "verbose", 0), label, ahead, own_out)


def _apart(one: Path, other: Path) -> bool:
    """Neither folder is the other or inside it (real paths)."""
    a, b = one.resolve(), other.resolve()
    return a != b and a not in b.parents and b not in a.parents


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `feeds` console script."""
    parser = make_parser()
    args = parser.parse_args(argv)
    setup_logging(getattr(args, "verbose", 0), timestamps=args.command == "watch")
    context: Context | None = None
    try:
        context = make_context(args)
        return _handlers()[args.command](args, context)
    except ConfigError as exc:
        print(f"feeds: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MailError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_UNDELIVERED
    except LockTimeout as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_UNEXPECTED
    except SeedError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FeedsError as exc:
        print(_full_disk(exc, context) or f"feeds: {exc}", file=sys.stderr)
        return EXIT_UNEXPECTED
    except db_errors() as exc:
        # A damaged file in the state folder: the reason, not a traceback.
        line = _full_disk(exc, context) or f"feeds: state database error: {exc}"
        print(line, file=sys.stderr)
        return EXIT_UNEXPECTED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        _quiet_stdout()  # `feeds subscribers list | head -1`: the reader had enough
        return EXIT_OK
    except OSError as exc:
        # A folder where a file should be, a permission: the path and the reason, one line.
        if getattr(args, "verbose", 0) > 1:
            raise
        where = f"{os.fsdecode(exc.filename)}: " if exc.filename else ""
        line = _full_disk(exc, context) or f"feeds: {where}{exc.strerror or exc}"
        if isinstance(exc, IsADirectoryError) and exc.filename:
            line = (
                f"feeds: {os.fsdecode(exc.filename)} is a folder where a file belongs; move it away"
            )
        print(line, file=sys.stderr)
        return EXIT_UNEXPECTED
    except Exception as exc:
        full = _full_disk(exc, context)
        if full:
            print(full, file=sys.stderr)
            return EXIT_UNEXPECTED
        if getattr(args, "verbose", 0):
            raise
        print(
            f"feeds: unexpected error: {type(exc).__name__}: {exc} (run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED


def _full_disk(exc: BaseException, context: Context | None) -> str | None:
    """The one line for a full disk, whatever error it surfaced as; None for anything else."""
    from feeds.cli.faults import full_folder, is_disk_full

    if not is_disk_full(exc):
        return None
    paths = context.config.paths if context else None
    folder = full_folder(exc, paths.out if paths else None, paths.state if paths else None)
    return f"feeds: no space left on device writing {folder or 'the disk'}"


def run() -> NoReturn:
    """The `feeds` command: main(), then exit without tearing the heap down.

    Freeing a big build's objects one by one at interpreter exit costs a tenth of a
    second at 100 000 articles, for nothing: everything is committed and closed by
    now, so only the streams and log handlers are flushed first.
    """
    code = main()
    logging.shutdown()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    sys.stderr.flush()
    os._exit(code)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (poll reports an error)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # errors and hang-ups are always reported
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the buffered rest is dropped without a second
    BrokenPipeError (the recipe of the signal module's documentation)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


if __name__ == "__main__":
    run()
