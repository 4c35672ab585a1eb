"""A stored digest -> e-mail messages: one per subscriber, one public copy; DKIM signing.

Headers are written by feeds.mail.headers (never folded by the email package from our values);
the MIME body comes from the email package; every message passes headers.check_wire on
the exact bytes that go out, signed, before it is sent.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from feeds.config import Config
from feeds.errors import ConfigError, MailError
from feeds.mail import headers as hdr
from feeds.mail.digest import generic_unsubscribe, web_path
from feeds.mail.headers import Field, HeaderError, check_wire
from feeds.mail.transfer import (
    B64_LINE,
    MAX_LINE,
    b64_lines,
    choose,
    qp_line,
    stats,
    transfer_encoding,
)
from feeds.site.links import absolute
from feeds.store.mailing import DigestRow, Subscriber, parse_utc

__all__ = ["HeaderError", "transfer_encoding"]

log = logging.getLogger(__name__)

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
# Which settings a header of the public copy comes from, to name them when it is refused.
_SETTINGS = {
    "Subject": "digest.subject / site.title",
    "From": "digest.from / site.title",
    "List-Id": "site.title",
    "Message-ID": "site.base_url",
    "List-Unsubscribe": "digest.unsubscribe_url / digest.from",
}


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to: an address, a display name and an unsubscribe link."""

    email: str
    name: str
    unsubscribe: str
    message_key: str


def sender(config: Config) -> tuple[str, str]:
    """(display name, address) of digest.from; named after the site unless it carries
    its own name. Encoded words in either name are text, never decoded."""
    name, address = hdr.split_mailbox(config.digest.from_)
    return hdr.header_text(name) or hdr.header_text(config.site.title), address


def recipient_for(config: Config, week: str, subscriber: Subscriber) -> Recipient:
    """A subscriber as a recipient: its own token link when digest.unsubscribe_url is set."""
    url = config.digest.unsubscribe_url
    link = url.replace("{token}", subscriber.token) if url else generic_unsubscribe(config)
    # Stable across retries, so a receiver can drop the copy of a message sent twice.
    key = hashlib.sha256(f"{week}\0{subscriber.id}\0{subscriber.token}".encode()).hexdigest()
    return Recipient(subscriber.email, subscriber.name, link, f"{subscriber.id}.{key[:16]}")


def public_recipient(config: Config) -> Recipient:
    """The list itself, for the public copy: To = From, the generic unsubscribe link."""
    return Recipient(sender(config)[1], "", generic_unsubscribe(config), "list")


def header_fields(config: Config, digest: DigestRow, to: Recipient, date: datetime) -> list[Field]:
    """Every top-level header of the message to `to`, in order, as meant to be read."""
    host = config.site.host
    name, address = sender(config)
    mailto = generic_unsubscribe(config)
    fields = [
        hdr.text("Subject", digest.subject),
        hdr.mailbox("From", name, address),
        hdr.mailbox("To", to.name, to.email),
        hdr.raw("Date", format_datetime(date.astimezone(config.site.tz))),
        hdr.raw("Message-ID", f"<digest.{digest.week}.{to.message_key}@{host}>"),
        hdr.phrase("List-Id", config.site.title, f"<digest.{host}>"),
    ]
    if config.digest.unsubscribe_url and to.unsubscribe != mailto:
        fields.append(hdr.raw("List-Unsubscribe", f"<{mailto}>, <{to.unsubscribe}>"))
        fields.append(hdr.raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    else:
        fields.append(hdr.raw("List-Unsubscribe", f"<{mailto}>"))
    return [
        *fields,
        hdr.raw("X-Feeds-Digest", digest.week),
        hdr.raw("MIME-Version", "1.0"),
        hdr.raw("Content-Type", f'multipart/alternative; boundary="{boundary(digest, to)}"'),
    ]


def boundary(digest: DigestRow, to: Recipient) -> str:
    """The MIME boundary: fixed per message, so the public copy is byte-stable."""
    return f"=feeds.{digest.week}.{to.message_key}="


def build_message(
    config: Config, digest: DigestRow, to: Recipient, date: datetime, *, eight_bit: bool = False
) -> bytes:
    """The message to `to` as wire bytes: multipart/alternative (text, then HTML), every
    header written by feeds.mail.headers and checked on the bytes (HeaderError if refused).

    eight_bit: the server offers 8BITMIME, so parts may go unencoded (see feeds.mail.transfer).
    """
    fields = header_fields(config, digest, to, date)
    msg = EmailMessage(policy=SMTP)
    text = digest.mail_text.replace(digest.marker, to.unsubscribe)
    msg.set_content(text, cte=transfer_encoding(text, eight_bit))
    page = digest.mail_html.replace(digest.marker, html.escape(to.unsubscribe, quote=True))
    msg.add_alternative(page, subtype="html", cte=transfer_encoding(page, eight_bit))
    for part in msg.iter_parts():
        del part["MIME-Version"]  # add_alternative copies it into the part; it belongs on top
    msg.set_boundary(boundary(digest, to))
    body = msg.as_bytes().partition(b"\r\n\r\n")[2]
    data = b"".join(field.line() for field in fields) + b"\r\n" + body
    check_wire(data, fields)
    return data


def public_eml(config: Config, digest: DigestRow) -> bytes:
    """The digest as published: addressed to the list, byte-stable, no subscriber in it.

    A site-level value that cannot be written safely is a config error: nothing is
    published or sent.
    """
    to = public_recipient(config)
    try:
        return build_message(config, digest, to, parse_utc(digest.created_at))
    except HeaderError as exc:
        raise _config_error(exc) from None


def _config_error(exc: HeaderError) -> ConfigError:
    setting = _SETTINGS.get(exc.header, "")
    return ConfigError(f"{setting}: {exc}" if setting else str(exc))


class Mailing:
    """A digest's messages to its subscribers, as signed and checked bytes.

    `message(to)` returns `build_message(config, digest, to, date, eight_bit=...)` without
    re-encoding the parts for each subscriber: they are encoded once, leaving only the
    lines that hold the unsubscribe link to encode per subscriber. The first message is
    also built the slow way and compared; should they ever differ, every message is built
    the slow way (and a warning says so). Creating a Mailing checks the site-level headers
    (ConfigError), so a bad setting stops the run before anything is sent.
    """

    def __init__(
        self, config: Config, digest: DigestRow, date: datetime, *, eight_bit: bool = False
    ) -> None:
        self.config = config
        self.digest = digest
        self.date = date
        self.eight_bit = eight_bit
        self.checked = False
        self.fast = True
        self.text = _Part(digest.mail_text, digest.marker, "plain")
        self.html = _Part(digest.mail_html, digest.marker, "html")
        probe = Subscriber(0, "probe@example.invalid", "", "token", "")
        for to in (public_recipient(config), recipient_for(config, digest.week, probe)):
            try:
                build_message(config, digest, to, date, eight_bit=eight_bit)
            except HeaderError as exc:
                raise _config_error(exc) from None

    def message(self, to: Recipient, signer: Signer | None = None) -> bytes:
        """The message to one recipient, signed when signer holds a key, checked on its
        wire bytes (HeaderError when refused: that recipient cannot be sent this digest)."""
        fields = header_fields(self.config, self.digest, to, self.date)
        if self.fast:
            data = self._assemble(to, fields)
            if not self.checked:
                self.checked = True
                reference = self._reference(to)
                if data != reference:
                    log.warning("%s: building every message in full (slower)", self.digest.week)
                    self.fast = False
                    data = reference
        else:
            data = self._reference(to)
        check_wire(data, fields)
        if signer is None or signer.key is None:
            return data
        signed = signer.sign(data)
        check_wire(signed, fields, signed=True)
        return signed

    def _reference(self, to: Recipient) -> bytes:
        return build_message(self.config, self.digest, to, self.date, eight_bit=self.eight_bit)

    def _assemble(self, to: Recipient, fields: list[Field]) -> bytes:
        mark = boundary(self.digest, to).encode("ascii")
        return b"".join(
            (
                *(field.line() for field in fields),
                b"\r\n--",
                mark,
                b"\r\n",
                self.text.encoded(to.unsubscribe, self.eight_bit),
                b"\r\n--",
                mark,
                b"\r\n",
                self.html.encoded(html.escape(to.unsubscribe, quote=True), self.eight_bit),
                b"\r\n--",
                mark,
                b"--\r\n",
            )
        )


class _Part:
    """A text part whose only per-subscriber content is the link standing at `marker`.

    Encoded as email.contentmanager does (lines re-joined with CRLF for 7bit, 8bit and
    base64; each line quoted-printable on its own, 78 columns), so the result is byte for
    byte the same.
    """

    def __init__(self, text: str, marker: str, subtype: str) -> None:
        self.text = text
        self.marker = marker
        self.subtype = subtype
        self.count = text.count(marker)
        self.stats = stats(text)
        self.marker_stats = stats(marker)
        self.headers: dict[str, bytes] = {}
        self.b64_head = b""
        self.b64_tail: bytes | None = None
        self.qp_lines: list[bytes] | None = None
        self.qp_marked: dict[int, bytes] = {}
        data = text.encode("utf-8")
        self.lines = data.splitlines()
        marker_bytes = marker.encode("utf-8")
        self.unmarked_longest = max(
            (len(line) for line in self.lines if marker_bytes not in line), default=0
        )
        self.eight_bit_ok = b"\0" not in data

    def encoded(self, link: str, eight_bit: bool = False) -> bytes:
        """Part headers, blank line and body with link in place of the marker."""
        cte = self._cte(link, eight_bit)
        if cte in ("7bit", "8bit"):
            body = self._plain(link)
        elif cte == "base64":
            body = self._base64(link)
        else:
            body = self._quoted_printable(link)
        return self._headers(cte) + b"\r\n" + body

    def _cte(self, link: str, eight_bit: bool) -> str:
        if eight_bit and self.eight_bit_ok and "\0" not in link:
            marker, wanted = self.marker.encode("utf-8"), link.encode("utf-8")
            marked = (len(line.replace(marker, wanted)) for line in self.lines if marker in line)
            if max(self.unmarked_longest, *marked, 0) <= MAX_LINE:
                return "7bit" if self.text.isascii() and link.isascii() else "8bit"
        link_stats = stats(link)
        return choose(
            (
                self.stats[0] + self.count * (link_stats[0] - self.marker_stats[0]),
                self.stats[1] + self.count * (link_stats[1] - self.marker_stats[1]),
            )
        )

    def _headers(self, cte: str) -> bytes:
        if cte not in self.headers:
            part = EmailMessage(policy=SMTP)
            part.set_content("", subtype=self.subtype, cte=cte)
            del part["MIME-Version"]
            self.headers[cte] = b"".join(
                SMTP.fold_binary(name, value) for name, value in part.raw_items()
            )
        return self.headers[cte]

    def _plain(self, link: str) -> bytes:
        marker, wanted = self.marker.encode("utf-8"), link.encode("utf-8")
        return b"".join(line.replace(marker, wanted) + b"\r\n" for line in self.lines or [b""])

    def _base64(self, link: str) -> bytes:
        marker = self.marker.encode("utf-8")
        if self.b64_tail is None:
            body = b"\r\n".join(self.lines) + b"\r\n"
            # Lines of 57 bytes each: those before the first link are the same for everyone.
            first = body.find(marker)
            cut = (len(body) if first < 0 else first) // B64_LINE * B64_LINE
            self.b64_head = b64_lines(body[:cut])
            self.b64_tail = body[cut:]
        return self.b64_head + b64_lines(self.b64_tail.replace(marker, link.encode("utf-8")))

    def _quoted_printable(self, link: str) -> bytes:
        marker = self.marker.encode("utf-8")
        if self.qp_lines is None:
            lines = self.lines or [b""]
            self.qp_lines = [b"" if marker in line else qp_line(line) for line in lines]
            self.qp_marked = {n: line for n, line in enumerate(lines) if marker in line}
        lines = list(self.qp_lines)
        for number, line in self.qp_marked.items():
            lines[number] = qp_line(line.replace(marker, link.encode("utf-8")))
        return b"".join(lines)


def web_url(config: Config, week: str) -> str:
    """Absolute URL of a digest's web page."""
    return absolute(config.site, web_path(week))


class Signer:
    """DKIM signing with the key from the environment, when smtp.dkim_* is configured."""

    def __init__(self, config: Config) -> None:
        smtp = config.smtp
        self.selector = smtp.dkim_selector.encode()
        self.domain = sender(config)[1].rpartition("@")[2].encode()
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
