"""The watch daemon: APScheduler wiring around feeds.run.watcher (what changed) and feeds.run.tick
(the idempotent build + digest step that `feeds run` also uses).

Jobs, all on one worker thread so they never overlap:

- scan: every `watch.interval` seconds, poll the seeds folder; build when something changed
  and has settled (inotify through watchdog may run it sooner);
- settle: once, when the youngest changed file will have been still for a second;
- due: once, at the publish time of the next held-back article;
- digest: weekly at the send slot (CronTrigger with a day name, in the site timezone);
  digest-retry once, some minutes later, when mail was left undelivered.

Nothing is kept in a job store: after a restart the first scan builds and sends whatever is
due, exactly as a cron tick would.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from feeds.config import Config
from feeds.errors import SeedError
from feeds.run.tick import TickResult, locked_tick
from feeds.run.watcher import Watcher, start_inotify
from feeds.store.lock import LockBusy

log = logging.getLogger(__name__)

DIGEST_RETRY = timedelta(minutes=10)
MAX_BACKOFF = 60.0
# How long SIGTERM waits for the job in progress: well within systemd's and the 10 s a stop
# may take, long enough for a small build or a digest message to finish cleanly.
STOP_GRACE = 5.0
SETTLE_MARGIN = 0.02  # seconds after the settling moment, so the file is surely old enough


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT to leave the scheduler loop."""


def make_scheduler(tz: ZoneInfo) -> BlockingScheduler:
    """A scheduler with one worker: jobs never overlap, a late job runs once, never dropped."""
    return BlockingScheduler(
        timezone=tz,
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def digest_trigger(config: Config) -> CronTrigger:
    """The weekly send slot; a day name, since APScheduler numbers Monday as 0."""
    hour, minute = config.digest.hour_minute
    return CronTrigger(
        day_of_week=config.digest.weekday, hour=hour, minute=minute, timezone=config.site.tz
    )


class Daemon:
    """`feeds watch`: run the jobs until SIGTERM or SIGINT, then finish the current one."""

    def __init__(self, config: Config, seeds_label: str, verbose: int = 0) -> None:
        self.config = config
        self.tz = config.site.tz
        self.seeds_label = seeds_label
        self.watcher = Watcher(config.paths.seeds, config.ignore_patterns)
        self.scheduler = make_scheduler(self.tz)
        for name in ("apscheduler", "watchdog"):  # their routine chatter only with -vv
            logging.getLogger(name).setLevel(logging.INFO if verbose >= 2 else logging.ERROR)
        self._busy = threading.Lock()
        self._stopping = False
        self._raise_on_signal = False
        self._build_pending = True  # a restart catches up: build and digest at once
        self._digest_pending = True
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._reported: set[tuple[str, str]] = set()
        self._woken = False

    # -- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        """Block until asked to stop; 0 after a clean shutdown."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        stop_inotify: Callable[[], None] | None = None
        try:
            self._add_jobs()
            stop_inotify = start_inotify(self.watcher, self._wake)
            log.info(
                "watching %s every %gs; digest %s %s (%s)",
                self.seeds_label,
                self.config.watch.interval,
                self.config.digest.weekday,
                self.config.digest.time,
                self.config.site.timezone,
            )
            self._raise_on_signal = True
            if not self._stopping:
                self.scheduler.start()
        except _Stop:
            pass
        finally:
            self._raise_on_signal = False
            self._stopping = True
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)  # never join from here: a job may need a lock
            if stop_inotify is not None:
                stop_inotify()
            finished = self._finish_current_job()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("stopped" if finished else "stopped; the job in progress was abandoned")
        return 0

    def _finish_current_job(self) -> bool:
        """Give the job in progress STOP_GRACE seconds to finish; False if it did not.

        An unfinished job is simply left behind: the process exits (cli.run ends it with
        os._exit, so the worker thread does not hold it up) and that is safe by design, as
        after a kill: every file is replaced atomically, the state database rolls back what
        it had not committed, and a digest leaves at most the message on the wire in doubt.
        """
        if self._busy.acquire(timeout=STOP_GRACE):
            self._busy.release()
            return True
        log.warning(
            "the job in progress did not finish within %g s; leaving it (the next start redoes it)",
            STOP_GRACE,
        )
        return False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            return
        self._stopping = True
        log.info(
            "%s: finishing the current job (up to %g s), then exiting",
            signal.Signals(signum).name,
            STOP_GRACE,
        )
        if self._raise_on_signal:
            raise _Stop

    def _add_jobs(self) -> None:
        sched = self.scheduler
        sched.add_job(
            self._scan_job,
            IntervalTrigger(seconds=self.config.watch.interval, timezone=self.tz),
            id="scan",
            next_run_time=datetime.now(self.tz),
        )
        sched.add_job(self._digest_job, digest_trigger(self.config), id="digest")

    def _once(self, job_id: str, func: Callable[[], None], when: datetime | None) -> None:
        if when is None:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
            return
        self.scheduler.add_job(func, DateTrigger(run_date=when), id=job_id, replace_existing=True)

    def _wake(self) -> None:
        """From the inotify thread: scan now rather than at the next interval."""
        if self._woken or self._stopping:
            return
        self._woken = True
        # Failing means shutting down or a job being replaced: the interval scan still runs.
        with contextlib.suppress(Exception):
            self.scheduler.modify_job("scan", next_run_time=datetime.now(self.tz))

    # -- jobs -----------------------------------------------------------------------------

    def _scan_job(self) -> None:
        self._guarded(lambda: self._work(force=False))

    def _due_job(self) -> None:
        self._guarded(lambda: self._work(force=True))

    def _digest_job(self) -> None:
        self._digest_pending = True
        self._guarded(lambda: self._work(force=True))

    def _guarded(self, work: Callable[[], None]) -> None:
        if self._stopping:
            return
        with self._busy:
            if self._stopping:
                return
            try:
                work()
            except Exception as exc:
                self._failed(exc)

    def _work(self, force: bool) -> None:
        """Poll; build (and run the digest step when pending) if anything calls for it."""
        self._woken = False
        wall = time.time()
        change = self.watcher.poll(wall)
        if change.settles_at is not None:
            when = datetime.fromtimestamp(change.settles_at + SETTLE_MARGIN, self.tz)
            self._once("settle", self._scan_job, when)
        retry = self._build_pending and wall >= self._retry_at
        if not (force or change.ready or retry or (self._digest_pending and not self._failures)):
            return
        if change.settles_at is not None and not force:
            return  # wait for the file to settle; the settle job comes back
        digest = self._digest_pending
        try:
            result = locked_tick(self.config, datetime.now(self.tz), wait=0, digest=digest)
        except LockBusy:
            log.debug("another feeds process holds the lock; trying again on the next scan")
            self._build_pending = True
            return
        self._succeeded(result, digest)

    # -- outcomes -------------------------------------------------------------------------

    def _succeeded(self, result: TickResult, digest: bool) -> None:
        built = result.build
        if built.unsettled:
            self._build_pending = True  # a file moved again during the build: not done yet
        else:
            self.watcher.mark_built()
            self._build_pending = False
        self._failures = 0
        self._last_error = ""
        self._once("due", self._due_job, built.next_due)
        for error in (*built.skipped, *built.warnings):
            if (error.path, error.reason) not in self._reported:
                self._reported.add((error.path, error.reason))
                log.warning("%s/%s: %s", self.seeds_label, error.path, error.reason)
        if built.new:
            log.info("published %s", _count(len(built.new), "article"))
            log.debug("new: %s", ", ".join(built.new))
        elif built.written or built.removed:
            log.info(
                "updated %s, removed %d", _count(len(built.written), "file"), len(built.removed)
            )
        if digest and result.digest is not None:
            self._digest_done(result)

    def _digest_done(self, result: TickResult) -> None:
        tick = result.digest
        assert tick is not None
        if tick.week is not None:
            log.info("%s", tick.summary)
        self._digest_pending = False
        if tick.exit_code != 0:
            retry = datetime.now(self.tz) + DIGEST_RETRY
            log.warning("mail left undelivered; trying again at %s", retry.strftime("%H:%M"))
            self._once("digest-retry", self._digest_job, retry)

    def _failed(self, exc: Exception) -> None:
        self._build_pending = True
        self._failures += 1
        self._retry_at = time.time() + min(MAX_BACKOFF, 2.0 ** (self._failures - 1))
        if isinstance(exc, SeedError):
            message = f"{self.seeds_label}: {exc.reason}" if exc.path else str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        if message != self._last_error:  # a failure that repeats every second is said once
            log.error("job failed: %s", message, exc_info=log.isEnabledFor(logging.DEBUG))
            self._last_error = message


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
