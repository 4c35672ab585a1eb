"""A stored digest -> e-mail messages: one per subscriber, one public copy; DKIM signing."""

from __future__ import annotations

import hashlib
import html
import os
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from feeds.config import Config
from feeds.db.mailing import DigestRow, Subscriber, parse_utc
from feeds.digest import generic_unsubscribe, web_path
from feeds.errors import MailError
from feeds.links import absolute

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
    """quoted-printable for mostly-ASCII text (markup, English), base64 for the rest.

    Chosen up front: left to itself the email package encodes every part both ways to
    keep the shorter one, which doubles the cost of each message.
    """
    extra_bytes = len(text.encode("utf-8")) - len(text)  # ~ the non-ASCII characters
    return "base64" if extra_bytes * 3 > len(text) else "quoted-printable"


def _set(msg: EmailMessage, name: str, value: object) -> None:
    if _BREAKS.search(str(value)):
        raise MailError(f"refusing a line break in the {name} header")
    msg[name] = value


def public_eml(config: Config, digest: DigestRow) -> bytes:
    """The digest as published: addressed to the list, byte-stable, no subscriber in it."""
    msg = build_message(config, digest, public_recipient(config), parse_utc(digest.created_at))
    return msg.as_bytes()


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
