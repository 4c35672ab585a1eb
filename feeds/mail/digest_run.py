"""One digest tick: create the digest of the latest passed slot, then deliver what is due."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from feeds.config import Config
from feeds.mail.delivery import deliver
from feeds.mail.digest import (
    Candidate,
    Window,
    file_names,
    generic_unsubscribe,
    items_for,
    oldest_first,
    render,
    select,
)
from feeds.mail.digest_pages import index_page
from feeds.mail.message import public_eml
from feeds.mail.slots import Slot, WeekError, first_window_start, latest_slot, slot_in_week
from feeds.model import Entry
from feeds.publish.target import publisher_for
from feeds.read.corpus import meta_of
from feeds.read.seeds import stem_of
from feeds.store import mailing as db
from feeds.store.backend import Conn
from feeds.store.manifest import load_manifest, load_slugs, seed_paths, transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigestTick:
    """What one tick did: the digest acted on (None: nothing due) and delivery counts."""

    week: str | None
    articles: int
    sent: int
    failed: int
    deferred: int
    exit_code: int
    error: str = ""

    @property
    def summary(self) -> str:
        """One log line: the week, its articles and what happened to the mail."""
        return (
            f"digest {self.week}: {self.articles} article{'' if self.articles == 1 else 's'};"
            f" {self.sent} sent,"
            f" {self.failed} failed, {self.deferred} deferred"
        )


def digest_tick(
    config: Config,
    now: datetime,
    conn: Conn,
    *,
    send: bool = True,
    week: str | None = None,
) -> DigestTick:
    """Create the digest of the latest passed slot (or `week`) if due; with send, deliver.

    Delivery covers every queued digest with undelivered rows, so older retries go on too.
    The caller holds the state lock (feeds.store.lock.locked); this function never takes it.
    """
    slot = slot_in_week(config, week) if week else latest_slot(config, now)
    if slot.at > now:
        when = slot.at.strftime("%Y-%m-%d %H:%M")
        raise WeekError(f"--week {slot.week}: its send slot ({when}) has not come yet")
    digest = db.get_digest(conn, slot.week)
    created = False
    if digest is None:
        digest = create_digest(config, now, conn, slot)
        created = digest is not None
    if digest is not None and (created or week is not None or not _published(config, digest)):
        publish(config, conn, digest)
    queued = False
    if send and digest is not None and digest.queued_at is None:
        with transaction(conn):
            count = db.queue_digest(conn, digest.week, now)
        queued = True
        log.info("%s: queued for %d subscribers", digest.week, count)
    if not send:
        acted = created or week is not None
        name = digest.week if digest is not None and acted else None
        return DigestTick(name, digest.articles if digest else 0, 0, 0, 0, 0)
    report = deliver(config, conn, now)
    if report.error:
        log.error("%s", report.error)
    acted = created or queued or report.attempted > 0 or bool(report.error) or week is not None
    undelivered = bool(report.error) or (report.attempted > 0 and report.deferred > 0)
    return DigestTick(
        week=(digest.week if digest is not None else None) if acted else None,
        articles=digest.articles if digest is not None else 0,
        sent=report.sent,
        failed=report.failed,
        deferred=report.deferred,
        exit_code=4 if undelivered else 0,
        error=report.error,
    )


def create_digest(
    config: Config, now: datetime, conn: Conn, slot: Slot
) -> db.DigestRow | None:
    """Select and render the digest of slot and record it; None when it would hold nothing."""
    if db.has_digest_after(conn, slot.at):
        log.info("%s: a later digest exists and already caught up on it", slot.week)
        return None
    previous = db.latest_digest_before(conn, slot.at)
    window = Window(
        slot,
        db.parse_utc(previous.slot) if previous else first_window_start(slot),
        db.parse_utc(previous.created_at) if previous else None,
    )
    candidates = [
        Candidate(aid, datetime.fromisoformat(date), datetime.fromisoformat(first_seen))
        for aid, date, first_seen in db.candidate_articles(
            conn, window.start, slot.at, window.late_after
        )
    ]
    entries = oldest_first(live_entries(config, conn, select(window, candidates), now))
    if not entries:
        log.info("%s: nothing new, no digest", slot.week)
        return None
    marker = f"feeds-unsubscribe-{secrets.token_hex(12)}"
    parts = render(config, window, items_for(config, entries), marker)
    row = db.DigestRow(
        week=slot.week,
        slot=db.utc_text(slot.at),
        start=db.utc_text(window.start),
        created_at=db.utc_text(now),
        queued_at=None,
        done=False,
        articles=len(entries),
        heading=parts.heading,
        subject=parts.subject,
        marker=marker,
        web_html=parts.web_html,
        mail_html=parts.mail_html,
        mail_text=parts.mail_text,
    )
    with transaction(conn):
        db.insert_digest(conn, row, [e.id for e in entries])
    log.info(
        "%s: digest of %d article%s (%d in the mail)",
        slot.week,
        len(entries),
        "" if len(entries) == 1 else "s",
        parts.shown,
    )
    return row


def live_entries(
    config: Config, conn: Conn, ids: list[str], now: datetime
) -> list[Entry]:
    """The selected articles as the last build left them (dropped: removed, drafts, future)."""
    if not ids:
        return []
    wanted = set(ids)
    slugs = load_slugs(conn, sorted(wanted))
    tz = config.site.tz
    entries: dict[str, Entry] = {}
    # An article's id is its file's stem: read only the seeds that can hold one of ids.
    rels = [rel for rel in seed_paths(conn) if stem_of(rel) in wanted]
    for rel, row in sorted(load_manifest(conn, rels).items()):
        article = row.article
        if article is None or article.id not in wanted or article.id in entries:
            continue
        if article.draft or article.date > now or article.id not in slugs:
            continue
        entries[article.id] = Entry(meta_of(article, row.sha256, tz), slugs[article.id], article)
        log.debug("digest takes %s (%s)", article.id, rel)
    return list(entries.values())


def files_of(config: Config, digest: db.DigestRow) -> dict[str, bytes]:
    """A digest's public files: web page, text and .eml addressed to the list."""
    page, text, eml = file_names(digest.week)
    public_text = digest.mail_text.replace(digest.marker, generic_unsubscribe(config))
    return {
        page: digest.web_html.encode("utf-8"),
        text: public_text.encode("utf-8"),
        eml: public_eml(config, digest),
    }


def publish(config: Config, conn: Conn, digest: db.DigestRow) -> list[str]:
    """Write a digest's files and the digests index atomically; unchanged files stay."""
    publisher = publisher_for(config)
    for rel, data in files_of(config, digest).items():
        publisher.write(rel, data)
    publisher.write("digests/index.html", index_page(config, db.list_digests(conn)))
    publisher.commit()
    return list(publisher.written)


def _published(config: Config, digest: db.DigestRow) -> bool:
    publisher = publisher_for(config)
    return all(publisher.exists(rel) for rel in file_names(digest.week))
