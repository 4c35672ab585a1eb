"""`feeds serve --watch`: a live preview built in a temporary folder, rebuilt on every change.

The build goes to a fresh temporary publish folder with a fresh temporary state folder: the
real publish folder and the real state are never opened, so a preview cannot publish, record
slugs or leave anything behind. Seeds are watched with the daemon's Watcher (inotify hints
plus polling); the templates folder and feeds.toml, a few files, by their stat. Each completed
rebuild bumps LiveReload, which reloads the open pages (feeds.web.serve).
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from feeds.config import Config, Preview, load_config
from feeds.errors import FeedsError
from feeds.publish.build import BuildResult, build
from feeds.run.watcher import Watcher, start_inotify
from feeds.store.schema import connect
from feeds.web.serve import LiveReload, make_server

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # the longest a change waits when inotify says nothing
Outcome = BuildResult | FeedsError | OSError | sqlite3.Error
Stamps = tuple[tuple[str, int, int], ...]


@dataclasses.dataclass(frozen=True)
class PreviewOptions:
    """What `feeds serve --watch` was asked for."""

    bind: str
    port: int
    drafts: bool
    fixed_now: datetime | None  # --now / FEEDS_NOW; None: the real clock at each rebuild


def preview_config(config: Config, folder: Path, drafts: bool, now: datetime) -> Config:
    """config building into folder/public with its state in folder/state, marked as a preview."""
    moved = config.replace_paths(out=folder / "public", state=folder / "state")
    return dataclasses.replace(moved, preview=Preview(drafts=drafts, now=now))


def watched_stamps(config: Config) -> Stamps:
    """(path, size, mtime_ns) of feeds.toml and of every file in the templates folder."""
    files: list[Path] = []
    if config.source is not None:
        files.append(config.source)
    templates = config.paths.templates
    if templates is not None and templates.is_dir():
        files.extend(sorted(p for p in templates.rglob("*") if p.is_file()))
    stamps = []
    for path in files:
        try:
            st = path.stat()
        except OSError:
            stamps.append((str(path), -1, -1))
            continue
        stamps.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(stamps)


class LivePreview:
    """The temporary site, its server and the rebuild loop."""

    def __init__(self, config: Config, options: PreviewOptions, folder: Path) -> None:
        self.config = config
        self.options = options
        self.folder = folder
        self.live = LiveReload()
        self.server = make_server(folder / "public", options.bind, options.port, self.live)
        self.wake = threading.Event()
        self.watcher = Watcher(config.paths.seeds, config.ignore_patterns)
        self.stamps = watched_stamps(config)
        (folder / "public").mkdir()

    @property
    def url(self) -> str:
        """Where the preview is served."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def rebuild(self) -> Outcome:
        """One build into the temporary folders; the result, or the error that stopped it."""
        now = self.options.fixed_now or datetime.now(self.config.site.tz)
        config = preview_config(self.config, self.folder, self.options.drafts, now)
        self.watcher.poll(time.time())
        try:
            conn = connect(config.paths.state)
            try:
                result: Outcome = build(config, now, conn)
            finally:
                conn.close()
        except (FeedsError, OSError, sqlite3.Error) as exc:
            return exc  # the last good build stays served
        self.watcher.mark_built()
        self.live.bump()
        return result

    def changed(self) -> bool:
        """Whether a seed, a template or feeds.toml changed since the last build; a changed
        feeds.toml is read again (a bad one is reported, and the old one kept)."""
        seeds = self.watcher.poll(time.time())
        stamps = watched_stamps(self.config)
        if stamps == self.stamps:
            return bool(seeds.signatures)
        self.stamps = stamps
        if self.config.source is not None:
            try:
                fresh = load_config(self.config.source)
            except FeedsError as exc:
                log.error("config error: %s; the preview keeps the last good config", exc)
                return bool(seeds.signatures)
            self.config = fresh
        return True

    def loop(self, report: Callable[[Outcome], None]) -> None:
        """Build, serve, and rebuild on every change until interrupted."""
        report(self.rebuild())
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        stop_inotify = start_inotify(self.watcher, self.wake.set)
        retry = False
        try:
            while True:
                self.wake.wait(POLL_SECONDS)
                self.wake.clear()
                if self.changed() or retry:
                    outcome = self.rebuild()
                    # A seed still being written is left out: build again once it is still.
                    retry = isinstance(outcome, BuildResult) and bool(outcome.unsettled)
                    report(outcome)
        finally:
            if stop_inotify is not None:
                stop_inotify()
            self.live.close()
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def live_preview(config: Config, options: PreviewOptions) -> Iterator[LivePreview]:
    """A LivePreview in a new temporary folder, removed afterwards (SIGTERM included)."""
    folder = Path(tempfile.mkdtemp(prefix="feeds-preview-"))
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # unwinds to the cleanup below, as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    try:
        yield LivePreview(config, options, folder)
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)
