"""Confirmation mails of web sign-ups (double opt-in), sent exactly once from the outbox.

A sign-up only queues an outbox row; this module drains it through the digest's machinery:
the same SmtpSession, the same DKIM Signer, headers written and checked on the wire by
feeds.mail.headers, and the same pending -> sending -> sent | temp_fail | perm_fail states
committed around every message (a row left in 'sending' by a crash is sent again with the
same Message-ID). Two drainers (`feeds web` and `feeds run`) are safe: a row is claimed first.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from feeds.config import Config
from feeds.errors import MailError
from feeds.mail import headers as hdr
from feeds.mail.delivery import GIVE_UP_AFTER, Outcome, SmtpSession, retry_delay
from feeds.mail.digest import digest_env, generic_unsubscribe
from feeds.mail.headers import HeaderError, check_wire
from feeds.mail.message import Signer, sender
from feeds.mail.transfer import transfer_encoding
from feeds.store import signups as db
from feeds.store.backend import Conn
from feeds.store.mailing import parse_utc
from feeds.store.manifest import transaction

log = logging.getLogger(__name__)
TEMPLATE = "confirm.txt"


def confirm_link(config: Config, token: str) -> str:
    """The link a confirmation mail carries."""
    return f"{config.web.base_url}confirm/{token}"


def build_confirmation(config: Config, mail: db.OutMail, date: datetime) -> bytes:
    """One confirmation mail as checked wire bytes (unsigned): localised text from the
    confirm.txt template, From digest.from, auto-generated (RFC 3834: no auto-replies)."""
    env = digest_env(config)
    words = env.globals["t"]
    assert isinstance(words, dict)
    title = config.site.title
    body = env.get_template(TEMPLATE).render(title=title, link=confirm_link(config, mail.secret))
    name, address = sender(config)
    # Stable per row, so a resend after a crash carries the same Message-ID.
    key = hashlib.sha256(f"confirm\0{mail.id}\0{mail.secret}".encode()).hexdigest()[:16]
    fields = [
        hdr.text("Subject", str(words["confirm_subject"]).replace("{title}", title)),
        hdr.mailbox("From", name, address),
        hdr.mailbox("To", mail.name, mail.email),
        hdr.raw("Date", format_datetime(date.astimezone(config.site.tz))),
        hdr.raw("Message-ID", f"<confirm.{mail.id}.{key}@{config.site.host}>"),
        hdr.raw("Auto-Submitted", "auto-generated"),
        hdr.raw("List-Unsubscribe", f"<{generic_unsubscribe(config)}>"),
        hdr.raw("MIME-Version", "1.0"),
    ]
    msg = EmailMessage(policy=SMTP)
    msg.set_content(body, cte=transfer_encoding(body, False))
    fields.append(hdr.raw("Content-Type", str(msg["Content-Type"])))
    fields.append(hdr.raw("Content-Transfer-Encoding", str(msg["Content-Transfer-Encoding"])))
    rest = msg.as_bytes().partition(b"\r\n\r\n")[2]
    data = b"".join(f.line() for f in fields) + b"\r\n" + rest
    check_wire(data, fields)
    return data


@dataclass(frozen=True)
class ConfirmReport:
    """What one drain of the outbox did."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    error: str = ""


def send_confirmations(config: Config, conn: Conn, now: datetime) -> ConfirmReport:
    """Send every due confirmation mail; SMTP trouble is reported, never raised."""
    due = db.due_mail(conn, now)
    sent = failed = 0
    error = ""
    if due:
        try:
            signer = Signer(config)
            from_addr = sender(config)[1]
            with SmtpSession(config.smtp) as session:
                session.ensure_open()
                for mail in due:
                    state = _send_one(config, conn, now, session, signer, from_addr, mail)
                    sent += state == "sent"
                    failed += state == "perm_fail"
        except MailError as exc:
            error = str(exc)
    counts = db.count_mail(conn)
    deferred = sum(counts.get(s, 0) for s in ("pending", "sending", "temp_fail"))
    return ConfirmReport(sent, failed, deferred, error)


def _send_one(
    config: Config,
    conn: Conn,
    now: datetime,
    session: SmtpSession,
    signer: Signer,
    from_addr: str,
    mail: db.OutMail,
) -> str:
    try:
        data = signer.sign(build_confirmation(config, mail, now))
    except HeaderError as exc:
        with transaction(conn):
            db.mail_result(conn, mail.id, "perm_fail", now, str(exc))
        return "perm_fail"
    session.ensure_open()
    with transaction(conn):
        if not db.claim_mail(conn, mail.id, now):
            return "taken"  # another sender (feeds web / feeds run) finished it meanwhile
    try:
        outcome = session.send(from_addr, mail.email, data)
    except MailError:
        with transaction(conn):  # it never reached the server: not in doubt
            db.mail_result(conn, mail.id, "pending", now)
        raise
    next_attempt = None
    if outcome.state == "temp_fail":
        first = parse_utc(mail.first_attempt) if mail.first_attempt else now
        if now - first >= GIVE_UP_AFTER:
            outcome = Outcome("perm_fail", f"gave up after 3 days: {outcome.error}")
        else:
            next_attempt = now + retry_delay(mail.attempts + 1)
    with transaction(conn):
        db.mail_result(conn, mail.id, outcome.state, now, outcome.error, next_attempt)
    # Never the address at the default level (SPEC 5a): the row id identifies it.
    log.debug("confirmation %d to %s: %s %s", mail.id, mail.email, outcome.state, outcome.error)
    if outcome.state == "perm_fail":
        log.warning("confirmation mail %d failed: %s", mail.id, outcome.error)
    return outcome.state
