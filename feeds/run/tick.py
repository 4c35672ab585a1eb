"""The one idempotent step shared by `feeds run` (cron) and `feeds watch` (the daemon).

Build as of `now`, then let the digest engine create and deliver the digest of the latest send
slot that has passed, if it is due. Running it twice, or after any downtime, gives the same
publish folder and sends nothing twice: every decision comes from the seeds, the publish folder
and the state database, never from what the process remembers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from feeds.config import Config
from feeds.errors import MailError
from feeds.mail.bounces import read_bounces
from feeds.mail.confirm import send_confirmations
from feeds.mail.delivery import deliver
from feeds.mail.digest_run import DigestTick, digest_tick
from feeds.publish.build import BuildResult, build
from feeds.store.backend import Conn
from feeds.store.lock import LockBusy
from feeds.store.schema import locked_state, open_state

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickResult:
    """What one tick did: the build, and the digest step when it ran."""

    build: BuildResult
    digest: DigestTick | None

    @property
    def exit_code(self) -> int:
        """0, or 4 when mail is left undelivered (the next tick retries it)."""
        return self.digest.exit_code if self.digest is not None else 0


def tick(
    config: Config, now: datetime, conn: Conn, *, digest: bool = True
) -> TickResult:
    """Build, then (with digest) create and deliver a due digest; the caller holds the lock."""
    result = build(config, now, conn)
    done = TickResult(result, digest_tick(config, now, conn) if digest else None)
    if digest:
        readers_step(config, now, conn)
    return done


def readers_step(config: Config, now: datetime, conn: Conn) -> None:
    """Confirmation mails left queued (feeds web down) and, with [bounces], the bounce mailbox.
    Trouble here is a warning: it never fails the build or the digest."""
    if config.web.base_url:
        report = send_confirmations(config, conn, now)
        if report.error:
            log.warning("confirmation mails: %s", report.error)
    if config.bounces.configured:
        try:
            counts = read_bounces(config, conn, now)
        except MailError as exc:
            log.warning("bounces: %s", exc)
            return
        log.info(
            "bounces: %d messages, %d disabled, %d unsubscribed",
            counts.messages,
            counts.disabled,
            counts.unsubscribed,
        )


def locked_tick(config: Config, now: datetime, *, wait: float, digest: bool = True) -> TickResult:
    """tick() under the state lock; raises feeds.store.lock.LockBusy at once when wait is 0."""
    try:
        with locked_state(config, wait) as conn:
            return tick(config, now, conn, digest=digest)
    except LockBusy:
        if digest and config.state.url:
            help_deliver(config, now)
        raise


def help_deliver(config: Config, now: datetime) -> None:
    """Another host holds the build lock: still send our share of its queued mail.

    Only with state in PostgreSQL, where workers claim deliveries row by row (SKIP LOCKED),
    so every message goes out once however many hosts help.
    """
    conn = open_state(config)
    try:
        report = deliver(config, conn, now)
    finally:
        conn.close()
    if report.error:
        log.error("%s", report.error)
    elif report.attempted:
        log.info("helped deliver: %d sent, %d failed", report.sent, report.failed)
