"""A stored digest -> e-mail messages: one per subscriber, one public copy; DKIM signing."""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from email import quoprimime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from feeds.config import Config
from feeds.db.mailing import DigestRow, Subscriber, parse_utc
from feeds.digest import generic_unsubscribe, web_path
from feeds.errors import MailError
from feeds.links import absolute

log = logging.getLogger(__name__)

_BREAKS = re.compile(r"[\r\n\x00]")
DKIM_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"MIME-Version",
    b"Content-Type",
)


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to: an address, a display name and an unsubscribe link."""

    email: str
    name: str
    unsubscribe: str
    message_key: str


def sender(config: Config) -> Address:
    """The From address: digest.from, named after the site unless it carries its own name."""
    name, addr = parseaddr(config.digest.from_)
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name or config.site.title, username=local, domain=domain)


def recipient_for(config: Config, week: str, subscriber: Subscriber) -> Recipient:
    """A subscriber as a recipient: its own token link when digest.unsubscribe_url is set."""
    url = config.digest.unsubscribe_url
    link = url.replace("{token}", subscriber.token) if url else generic_unsubscribe(config)
    # Stable across retries, so a receiver can drop the copy of a message sent twice.
    key = hashlib.sha256(f"{week}\0{subscriber.id}\0{subscriber.token}".encode()).hexdigest()
    return Recipient(subscriber.email, subscriber.name, link, f"{subscriber.id}.{key[:16]}")


def public_recipient(config: Config) -> Recipient:
    """The list itself, for the public copy: To = From, the generic unsubscribe link."""
    return Recipient(sender(config).addr_spec, "", generic_unsubscribe(config), "list")


def build_message(config: Config, digest: DigestRow, to: Recipient, date: datetime) -> EmailMessage:
    """multipart/alternative (text, then HTML) with every header; no value can carry CR/LF."""
    host = config.site.host
    sender_address = sender(config)
    msg = EmailMessage(policy=SMTP)
    _set(msg, "Subject", digest.subject)
    _set(msg, "From", sender_address)
    if to.name:
        _set(msg, "To", Address(display_name=to.name, addr_spec=to.email))
    else:
        _set(msg, "To", to.email)
    _set(msg, "Date", format_datetime(date.astimezone(config.site.tz)))
    _set(msg, "Message-ID", f"<digest.{digest.week}.{to.message_key}@{host}>")
    list_name = re.sub(r'[<>"\\]', "", config.site.title).strip()
    _set(msg, "List-Id", f"{list_name} <digest.{host}>")
    mailto = generic_unsubscribe(config)
    if config.digest.unsubscribe_url and to.unsubscribe != mailto:
        _set(msg, "List-Unsubscribe", f"<{mailto}>, <{to.unsubscribe}>")
        _set(msg, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    else:
        _set(msg, "List-Unsubscribe", f"<{mailto}>")
    _set(msg, "X-Feeds-Digest", digest.week)
    text = digest.mail_text.replace(digest.marker, to.unsubscribe)
    msg.set_content(text, cte=transfer_encoding(text))
    page = digest.mail_html.replace(digest.marker, html.escape(to.unsubscribe, quote=True))
    msg.add_alternative(page, subtype="html", cte=transfer_encoding(page))
    for part in msg.iter_parts():
        del part["MIME-Version"]  # add_alternative copies it into the part; it belongs on top
    msg.set_boundary(f"=feeds.{digest.week}.{to.message_key}=")
    return msg


def transfer_encoding(text: str) -> str:
    """The shorter encoding: quoted-printable for mostly-ASCII text (markup, English),
    base64 once the bytes quoted-printable must escape (three characters for one) outweigh
    base64's third more on every byte: markup around Cyrillic text is a fifth smaller so.

    Chosen up front: left to itself the email package encodes every part both ways to
    keep the shorter one, which doubles the cost of each message.
    """
    return _choose(_stats(text))


# Bytes that quoted-printable writes as they are (others become =XX).
_QP_LITERAL = bytes(range(0x20, 0x7F)).replace(b"=", b"") + b"\t\r\n"


def _stats(text: str) -> tuple[int, int]:
    """(UTF-8 bytes, those quoted-printable escapes): additive over concatenation."""
    data = text.encode("utf-8")
    return len(data), len(data.translate(None, _QP_LITERAL))


def _choose(stats: tuple[int, int]) -> str:
    size, escaped = stats
    # base64: 4/3 of the size; quoted-printable: the size plus two more for each escape.
    return "base64" if 4 * size < 3 * (size + 2 * escaped) else "quoted-printable"


def _set(msg: EmailMessage, name: str, value: object) -> None:
    if _BREAKS.search(str(value)):
        raise MailError(f"refusing a line break in the {name} header")
    msg[name] = value


def public_eml(config: Config, digest: DigestRow) -> bytes:
    """The digest as published: addressed to the list, byte-stable, no subscriber in it."""
    msg = build_message(config, digest, public_recipient(config), parse_utc(digest.created_at))
    return msg.as_bytes()


class Mailing:
    """A digest's messages to its subscribers, as bytes, without rebuilding each one.

    `message(to)` returns exactly `build_message(config, digest, to, date).as_bytes()`: the
    headers that differ per subscriber (To, Message-ID, List-Unsubscribe, the boundary) are
    folded by the email package's own policy, and the two parts are encoded once, leaving
    only the lines that hold the unsubscribe link to encode per subscriber. The first
    message is also built the slow way and compared; should they ever differ, every message
    is built the slow way (and a warning says so).
    """

    def __init__(self, config: Config, digest: DigestRow, date: datetime) -> None:
        self.config = config
        self.digest = digest
        self.date = date
        self.mailto = generic_unsubscribe(config)
        self.host = config.site.host
        self.checked = False
        self.fast = True
        head = build_message(config, digest, public_recipient(config), date)
        fixed = {name: SMTP.fold_binary(name, value) for name, value in head.raw_items()}
        self.before_to = fixed["Subject"] + fixed["From"]
        self.date_line = fixed["Date"]
        self.list_id = fixed["List-Id"]
        self.after_unsubscribe = fixed["X-Feeds-Digest"] + fixed["MIME-Version"]
        self.text = _Part(digest.mail_text, digest.marker, "plain")
        self.html = _Part(digest.mail_html, digest.marker, "html")

    def message(self, to: Recipient) -> bytes:
        """The message to one recipient, as build_message would serialise it."""
        if not self.fast:
            return build_message(self.config, self.digest, to, self.date).as_bytes()
        data = self._assemble(to)
        if not self.checked:
            self.checked = True
            reference = build_message(self.config, self.digest, to, self.date).as_bytes()
            if data != reference:
                log.warning("%s: building every message in full (slower)", self.digest.week)
                self.fast = False
                return reference
        return data

    def _assemble(self, to: Recipient) -> bytes:
        week = self.digest.week
        if to.name:
            to_line = _fold("To", Address(display_name=to.name, addr_spec=to.email))
        else:
            to_line = _fold("To", to.email)
        if self.config.digest.unsubscribe_url and to.unsubscribe != self.mailto:
            unsubscribe = _fold("List-Unsubscribe", f"<{self.mailto}>, <{to.unsubscribe}>")
            unsubscribe += _fold("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        else:
            unsubscribe = _fold("List-Unsubscribe", f"<{self.mailto}>")
        boundary = f"=feeds.{week}.{to.message_key}=".encode("ascii")
        _check_link(to.unsubscribe)
        return b"".join(
            (
                self.before_to,
                to_line,
                self.date_line,
                _fold("Message-ID", f"<digest.{week}.{to.message_key}@{self.host}>"),
                self.list_id,
                unsubscribe,
                self.after_unsubscribe,
                _fold("Content-Type", f'multipart/alternative; boundary="{boundary.decode()}"'),
                b"\r\n--",
                boundary,
                b"\r\n",
                self.text.encoded(to.unsubscribe),
                b"\r\n--",
                boundary,
                b"\r\n",
                self.html.encoded(html.escape(to.unsubscribe, quote=True)),
                b"\r\n--",
                boundary,
                b"--\r\n",
            )
        )


def _fold(name: str, value: object) -> bytes:
    """One header line as the SMTP policy writes it (CR/LF in the value refused)."""
    if _BREAKS.search(str(value)):
        raise MailError(f"refusing a line break in the {name} header")
    return SMTP.fold_binary(*SMTP.header_store_parse(name, value))


def _check_link(link: str) -> None:
    if _BREAKS.search(link):
        raise MailError("refusing a line break in the unsubscribe link")


class _Part:
    """A text part whose only per-subscriber content is the link standing at `marker`.

    Encoded as email.contentmanager does (lines re-joined with CRLF for base64; each line
    quoted-printable on its own, 78 columns), so the result is byte for byte the same.
    """

    def __init__(self, text: str, marker: str, subtype: str) -> None:
        self.text = text
        self.marker = marker
        self.subtype = subtype
        self.count = text.count(marker)
        self.stats = _stats(text)
        self.marker_stats = _stats(marker)
        self.headers: dict[str, bytes] = {}
        self.b64_head = b""
        self.b64_tail: bytes | None = None
        self.qp_lines: list[bytes] | None = None
        self.qp_marked: dict[int, bytes] = {}

    def encoded(self, link: str) -> bytes:
        """Part headers, blank line and body with link in place of the marker."""
        link_stats = _stats(link)
        stats = (
            self.stats[0] + self.count * (link_stats[0] - self.marker_stats[0]),
            self.stats[1] + self.count * (link_stats[1] - self.marker_stats[1]),
        )
        cte = _choose(stats)
        body = self._base64(link) if cte == "base64" else self._quoted_printable(link)
        return self._headers(cte) + b"\r\n" + body

    def _headers(self, cte: str) -> bytes:
        if cte not in self.headers:
            part = EmailMessage(policy=SMTP)
            part.set_content("", subtype=self.subtype, cte=cte)
            del part["MIME-Version"]
            self.headers[cte] = b"".join(
                SMTP.fold_binary(name, value) for name, value in part.raw_items()
            )
        return self.headers[cte]

    def _base64(self, link: str) -> bytes:
        marker = self.marker.encode("utf-8")
        if self.b64_tail is None:
            lines = self.text.encode("utf-8").splitlines()
            body = b"\r\n".join(lines) + b"\r\n"
            # Lines of 57 bytes each: those before the first link are the same for everyone.
            first = body.find(marker)
            cut = (len(body) if first < 0 else first) // _B64_LINE * _B64_LINE
            self.b64_head = _b64_lines(body[:cut])
            self.b64_tail = body[cut:]
        return self.b64_head + _b64_lines(self.b64_tail.replace(marker, link.encode("utf-8")))

    def _quoted_printable(self, link: str) -> bytes:
        marker = self.marker.encode("utf-8")
        if self.qp_lines is None:
            lines = self.text.encode("utf-8").splitlines() or [b""]
            self.qp_lines = [b"" if marker in line else _qp_line(line) for line in lines]
            self.qp_marked = {n: line for n, line in enumerate(lines) if marker in line}
        lines = list(self.qp_lines)
        for number, line in self.qp_marked.items():
            lines[number] = _qp_line(line.replace(marker, link.encode("utf-8")))
        return b"".join(lines)


_B64_LINE = 57  # bytes of data on each 76-character base64 line


def _b64_lines(data: bytes) -> bytes:
    """base64 in lines of 76 characters ending in CRLF, as the email package writes it."""
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _qp_line(line: bytes) -> bytes:
    """One line quoted-printable as the email package writes it: 78 columns, CRLF."""
    return quoprimime.body_encode(line.decode("latin-1") + "\n", 78, "\r\n").encode("ascii")


def web_url(config: Config, week: str) -> str:
    """Absolute URL of a digest's web page."""
    return absolute(config.site, web_path(week))


class Signer:
    """DKIM signing with the key from the environment, when smtp.dkim_* is configured."""

    def __init__(self, config: Config) -> None:
        smtp = config.smtp
        self.selector = smtp.dkim_selector.encode()
        self.domain = sender(config).domain.encode()
        self.key: bytes | None = None
        if smtp.dkim_selector and smtp.dkim_key_env:
            key = os.environ.get(smtp.dkim_key_env, "")
            if not key.strip():
                raise MailError(f"smtp.dkim_key_env names ${smtp.dkim_key_env}, which is not set")
            self.key = key.replace("\\n", "\n").encode()
            self._check()

    def _check(self) -> None:
        import dkim

        assert self.key is not None
        try:
            dkim.crypto.parse_pem_private_key(self.key)
        except Exception:
            raise MailError("the DKIM key in the environment is not a PEM private key") from None

    def sign(self, data: bytes) -> bytes:
        """The message with a DKIM-Signature header in front (unchanged without a key)."""
        if self.key is None:
            return data
        import dkim

        signature = dkim.sign(
            data, self.selector, self.domain, self.key, include_headers=list(DKIM_HEADERS)
        )
        return bytes(signature) + data
