"""SMTP delivery of stored digests, exactly once per subscriber across crashes and reruns.

Each delivery row goes pending -> sending -> sent | temp_fail | perm_fail, committed around
every message. A crash can leave one row in 'sending': the message may or may not have been
accepted. That row is sent again on the next run with the same Message-ID (at least once:
a lost digest is worse than a duplicate a mail client can recognise as one).
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from types import TracebackType

from feeds.config import Config, SmtpConfig
from feeds.errors import MailError
from feeds.mail.headers import HeaderError, header_text
from feeds.mail.message import Mailing, Signer, recipient_for, sender
from feeds.store import mailing as db
from feeds.store.backend import Conn, is_pg
from feeds.store.manifest import transaction

log = logging.getLogger(__name__)

# Retry a deferred message after these delays (the last one repeats) ...
RETRY_DELAYS = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
# ... and give it up as failed once its first attempt is this old (SPEC 4).
GIVE_UP_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class Outcome:
    """How one SMTP transaction ended."""

    state: db.DeliveryState
    error: str = ""


class SmtpSession:
    """One SMTP connection reused for many messages; reopened after a drop."""

    def __init__(self, smtp: SmtpConfig) -> None:
        self.smtp = smtp
        self.client: smtplib.SMTP | None = None
        self.password = ""
        if smtp.user:
            self.password = os.environ.get(smtp.password_env, "")
            if not self.password:
                raise MailError(
                    f"smtp.user is set but the environment variable {smtp.password_env}"
                    " holding the password is empty"
                )

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def where(self) -> str:
        """host:port for messages."""
        return f"{self.smtp.host}:{self.smtp.port}"

    def open(self) -> None:
        """Connect, secure and log in; MailError when the server cannot be used."""
        self.close()
        smtp = self.smtp
        context = ssl.create_default_context()
        try:
            if smtp.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    smtp.host, smtp.port, timeout=smtp.timeout, context=context
                )
            else:
                client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
            self.client = client
            client.ehlo()
            if smtp.security == "starttls":
                if not client.has_extn("starttls"):
                    raise MailError(f"SMTP server {self.where} does not offer STARTTLS")
                client.starttls(context=context)
                client.ehlo()
            if smtp.user:
                client.login(smtp.user, self.password)
        except MailError:
            self.close()
            raise
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailError(
                f"SMTP server {self.where} refused the login as {smtp.user}: {_reply(exc)}"
            ) from None
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise MailError(
                f"TLS with SMTP server {self.where} failed: certificate verify failed:"
                f" {exc.verify_message}"
            ) from None
        except ssl.SSLError as exc:
            self.close()
            raise MailError(f"TLS with SMTP server {self.where} failed: {exc.reason}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"cannot reach SMTP server {self.where}: {_describe(exc)}") from None

    def close(self) -> None:
        """Say QUIT if the connection still stands, then drop it."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    @property
    def eight_bit(self) -> bool:
        """Whether the open connection's server offers 8BITMIME (RFC 6152)."""
        return self.client is not None and bool(self.client.has_extn("8bitmime"))

    def ensure_open(self) -> None:
        """Connect unless a connection stands (MailError when that fails)."""
        if self.client is None or self.client.sock is None:
            self.open()

    def send(self, from_addr: str, to_addr: str, data: bytes) -> Outcome:
        """One message to one recipient; the reply codes decide the outcome.

        A connection found dead before the message began (an idle timeout) is reopened and
        the message tried once more; one that dies after DATA leaves the message in doubt.
        """
        client: smtplib.SMTP | None = None
        # Any byte past ASCII is an 8bit part: announced, and only to a server that takes it.
        options = [] if data.isascii() else ["BODY=8BITMIME"]
        for first_try in (True, False):
            self.ensure_open()
            client = self.client
            assert client is not None
            if options and not self.eight_bit:
                return Outcome("temp_fail", f"SMTP server {self.where} no longer offers 8BITMIME")
            try:
                code, reply = client.mail(from_addr, options)
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                if first_try:
                    continue
                return Outcome("temp_fail", f"connection lost: {_describe(exc)}")
            break
        if code != 250:
            # The sender is refused: a problem of the server or the config, not of this
            # recipient. Stop here; the message stays pending for the next run.
            self._refused(code, reply)
            raise MailError(
                f"SMTP server {self.where} refused the sender {from_addr}: {code} {_text(reply)}"
            )
        assert client is not None
        try:
            code, reply = client.rcpt(to_addr)
            if code not in (250, 251):
                return self._refused(code, reply)
            code, reply = _data(client, data)
        except smtplib.SMTPResponseException as exc:
            return self._refused(exc.smtp_code, exc.smtp_error)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            return Outcome("temp_fail", f"connection lost: {_describe(exc)}")
        if code != 250:
            return self._refused(code, reply)
        return Outcome("sent")

    def _refused(self, code: int, reply: bytes | str) -> Outcome:
        text = f"{code} {_text(reply)}"
        if code == 421:
            self.close()  # the server is closing the connection: the next message reconnects
        elif self.client is not None:
            try:
                self.client.rset()
            except (OSError, smtplib.SMTPException):
                self.close()
        if 500 <= code < 600:
            return Outcome("perm_fail", text)
        return Outcome("temp_fail", text)


def _data(client: smtplib.SMTP, data: bytes) -> tuple[int, bytes]:
    """smtplib.SMTP.data for a message already in CRLF lines, dot-stuffed with bytes.replace:
    smtplib's regular expression for it costs more than building the message."""
    client.putcmd("data")
    code, reply = client.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    if data.startswith(b"."):
        data = b"." + data
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    client.send(data + b".\r\n")
    return client.getreply()


def _text(reply: bytes | str) -> str:
    raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(raw.split())


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc)
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return " ".join((str(exc) or type(exc).__name__).split())


@dataclass(frozen=True)
class Report:
    """What a delivery run did, and what is still waiting."""

    sent: int
    failed: int
    deferred: int
    attempted: int
    error: str = ""


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try after `attempts` tries."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def deliver(config: Config, conn: Conn, now: datetime) -> Report:
    """Send every due delivery of every queued digest that is not finished yet.

    On PostgreSQL several workers (hosts) may run this at once: each claims batches of rows
    no live worker holds, so every message goes out once however many help.
    """
    weeks = db.open_weeks(conn)
    sent = failed = attempted = 0
    error = ""
    batches = _due_batches(conn, weeks, now)
    first = next(batches, None)
    if first is not None:
        try:
            signer = Signer(config)
            from_addr = sender(config)[1]
            mailings: dict[str, Mailing] = {}
            with SmtpSession(config.smtp) as session:
                session.ensure_open()
                for week, rows in chain([first], batches):
                    mailing = mailings.get(week)
                    if mailing is None:
                        digest = db.get_digest(conn, week)
                        assert digest is not None
                        mailing = Mailing(config, digest, now, eight_bit=session.eight_bit)
                        mailings[week] = mailing
                    for row in rows:
                        outcome = _deliver_one(
                            config, conn, now, session, signer, from_addr, mailing, row
                        )
                        if outcome is None:  # another worker took the row over
                            continue
                        attempted += 1
                        sent += outcome.state == "sent"
                        failed += outcome.state == "perm_fail"
        except MailError as exc:
            error = str(exc)
    with transaction(conn):
        db.close_finished(conn, weeks)
    counts = db.count_states(conn, weeks)
    deferred = sum(counts.get(state, 0) for state in ("pending", "sending", "temp_fail"))
    return Report(sent, failed, deferred, attempted, error)


def _due_batches(
    conn: Conn, weeks: list[str], now: datetime
) -> Iterator[tuple[str, list[db.Delivery]]]:
    """(week, deliveries) to send now. SQLite: all at once (the state lock makes this the
    only sender). PostgreSQL: claimed batch by batch, shared with other workers."""
    if not is_pg(conn):
        for week in weeks:
            rows = db.due_deliveries(conn, week, now)
            if rows:
                yield week, rows
        return
    for week in weeks:
        while rows := db.claim_deliveries(conn, week, now):
            yield week, rows


def _deliver_one(
    config: Config,
    conn: Conn,
    now: datetime,
    session: SmtpSession,
    signer: Signer,
    from_addr: str,
    mailing: Mailing,
    row: db.Delivery,
) -> Outcome | None:
    digest = mailing.digest
    subscriber = row.subscriber
    if row.state == "sending":
        log.warning(
            "%s: the message to %s may have gone out before an interruption;"
            " sending it again with the same Message-ID",
            digest.week,
            subscriber.email,
        )
    try:
        data = mailing.message(recipient_for(config, digest.week, subscriber), signer)
    except HeaderError as exc:
        # Never sent: a value of this subscriber's (name, address, token) cannot be written.
        with transaction(conn):
            db.mark_result(conn, digest.week, subscriber.id, "perm_fail", now, str(exc))
        who = header_text(subscriber.email)[:254]  # one stderr line, whatever the row holds
        log.warning("%s: %s failed: not sent: %s", digest.week, who, exc)
        return Outcome("perm_fail", str(exc))
    session.ensure_open()
    with transaction(conn):
        if not is_pg(conn):
            db.mark_sending(conn, digest.week, subscriber.id, now)
        elif not db.mark_sending_claimed(conn, digest.week, subscriber.id, now):
            return None
    try:
        outcome = session.send(from_addr, subscriber.email, data)
    except MailError:
        with transaction(conn):  # it never reached the server: not in doubt
            db.mark_result(conn, digest.week, subscriber.id, "pending", now, row.last_error)
        raise
    next_attempt = None
    if outcome.state == "temp_fail":
        first = db.parse_utc(row.first_attempt) if row.first_attempt else now
        if now - first >= GIVE_UP_AFTER:
            outcome = Outcome("perm_fail", f"gave up after 3 days: {outcome.error}")
        else:
            next_attempt = now + retry_delay(row.attempts + 1)
    with transaction(conn):
        db.mark_result(
            conn, digest.week, subscriber.id, outcome.state, now, outcome.error, next_attempt
        )
    if outcome.state == "perm_fail":
        log.warning("%s: %s failed: %s", digest.week, subscriber.email, outcome.error)
    elif outcome.state == "temp_fail" and next_attempt is not None:
        retry = next_attempt.astimezone(config.site.tz).strftime("%Y-%m-%d %H:%M")
        log.warning(
            "%s: %s deferred: %s (next try %s)", digest.week, subscriber.email, outcome.error, retry
        )
    else:
        log.debug("%s: sent to %s", digest.week, subscriber.email)
    return outcome
