"""Bounces and mailed unsubscribes (`feeds bounces`): classify with flufl.bounce, read
IMAP/Maildir/mbox, act on the state once per message.

classify(raw, host=..., list_address=...) -> Classified
    findings: (address, 'permanent' | 'temporary' | 'unsubscribe', digest week or None, ...)
    reason:   why nothing was found ('auto-reply', 'not our mail', 'no bounce')

flufl.bounce (6.x: scan_message -> permanent set, all_failures -> (temporary, permanent) sets of
bytes; detectors run most-specific first and stop at the first that finds anything) says WHICH
addresses failed. Its permanent/temporary split is refined here, because it is wrong for two
common cases the fixtures hold:
- RFC 3464 'Action: failed' with a 4.x.x Status (Postfix giving up after its queue lifetime):
  flufl says permanent, the status says soft -> temporary.
- Exim's classic plain-text delay warning: flufl's SimpleMatch ('created automatically by mail
  delivery software') fires before SimpleWarning and calls it permanent -> temporary.
Rule: the per-recipient DSN Status decides (5 -> permanent, 4 -> temporary); without a DSN,
the first enhanced status code (or basic 4xx/5xx reply) after the address in the text decides;
with neither, flufl's split stands, except that a delay warning is always temporary.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import imaplib
import mailbox
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.iterators import typed_subpart_iterator
from email.message import Message
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

from flufl.bounce import all_failures

from feeds.config import Config
from feeds.errors import MailError
from feeds.mail.message import sender
from feeds.store import signups as store
from feeds.store.backend import Conn
from feeds.store.manifest import transaction

Kind = Literal["permanent", "temporary", "unsubscribe"]

_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_REPLY = re.compile(r"(?<![\d.])([45])\d\d(?:[ -]|$)", re.MULTILINE)
_WARNING = re.compile(
    r"not yet been delivered|still being retried|delivery (?:is |has been )?delayed"
    r"|message not delivered yet|THIS IS A WARNING ONLY",
    re.IGNORECASE,
)
_ATTACHED = ("message/rfc822", "text/rfc822-headers")
_EXIM_COPY = "------ This is a copy of the message"


@dataclass(frozen=True)
class Finding:
    """One address to act on, tied to a digest (and subscriber) when our Message-ID is found."""

    address: str
    kind: Kind
    digest: str | None = None
    subscriber_id: int | None = None
    message_key: str | None = None
    status: str = ""


@dataclass(frozen=True)
class Classified:
    findings: tuple[Finding, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Ours:
    """Our digest Message-ID: <digest.{week}.{subscriber id}.{16 hex}@{host}>."""

    week: str
    subscriber_id: int
    key: str


def _ours_pattern(host: str) -> re.Pattern[str]:
    return re.compile(
        rf"<digest\.(\d{{4}}-W\d{{2}})\.(\d+)\.([0-9a-f]{{16}})@{re.escape(host)}>", re.IGNORECASE
    )


def parse(raw: bytes) -> Message:
    """compat32 Message, as flufl.bounce's detectors expect."""
    return email.message_from_bytes(raw)


def classify(raw: bytes, *, host: str, list_address: str) -> Classified:
    """What one incoming message means for the list."""
    msg = parse(raw)
    texts = _texts(msg)
    whole = "\n".join(texts)
    ours = _find_ours(msg, whole, host)
    temporary, permanent = all_failures(msg)
    failed = {a.decode("ascii", "replace").lower(): "permanent" for a in permanent}
    failed.update({a.decode("ascii", "replace").lower(): "temporary" for a in temporary})
    if failed:
        if ours is None and _has_original(msg) and not _mentions_list(whole, host):
            return Classified(reason="not our mail")  # e.g. a bounce of the owner's own mail
        statuses = _dsn_statuses(msg)
        warning = bool(_WARNING.search(whole) or _WARNING.search(str(msg.get("subject", ""))))
        findings = []
        for address, flufl_kind in sorted(failed.items()):
            status = statuses.get(address) or _status_near(whole, address)
            kind: Kind
            if status.startswith("5"):
                kind = "permanent"
            elif status.startswith("4") or warning:
                kind = "temporary"
            else:
                kind = flufl_kind  # type: ignore[assignment]
            findings.append(
                Finding(
                    address,
                    kind,
                    ours.week if ours else None,
                    ours.subscriber_id if ours else None,
                    f"{ours.subscriber_id}.{ours.key}" if ours else None,
                    status,
                )
            )
        return Classified(tuple(findings))
    if _automatic(msg):
        return Classified(reason="auto-reply")
    sender = _unsubscriber(msg, list_address)
    if sender:
        return Classified(
            (
                Finding(
                    sender,
                    "unsubscribe",
                    ours.week if ours else None,
                    ours.subscriber_id if ours else None,
                ),
            )
        )
    return Classified(reason="no bounce")


def _texts(msg: Message) -> list[str]:
    """Every header block and text a bounce can carry the original's Message-ID in."""
    out = [str(msg.get("in-reply-to", "")), str(msg.get("references", ""))]
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner: Any = part.get_payload()
            if isinstance(inner, list) and inner:
                out.append("".join(f"{k}: {v}\n" for k, v in inner[0].items()))
        elif kind == "message/delivery-status":
            blocks: Any = part.get_payload() if part.is_multipart() else []
            for block in blocks:
                out.append("".join(f"{k}: {v}\n" for k, v in block.items()))
        elif part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    out.append(data.decode(charset, "replace"))
                except LookupError:
                    out.append(data.decode("utf-8", "replace"))
    return out


def _find_ours(msg: Message, whole: str, host: str) -> Ours | None:
    match = _ours_pattern(host).search(whole)
    if match is None:
        return None
    return Ours(match.group(1).upper(), int(match.group(2)), match.group(3).lower())


def _has_original(msg: Message) -> bool:
    if any(p.get_content_type() in _ATTACHED for p in msg.walk()):
        return True
    body = msg.get_payload(decode=True) if not msg.is_multipart() else None
    return isinstance(body, bytes) and _EXIM_COPY.encode() in body


def _mentions_list(whole: str, host: str) -> bool:
    return f"<digest.{host}>".lower() in whole.lower()


def _dsn_statuses(msg: Message) -> dict[str, str]:
    """address -> Status of each per-recipient block of every message/delivery-status part."""
    found: dict[str, str] = {}
    for part in typed_subpart_iterator(msg, "message", "delivery-status"):
        if not part.is_multipart():
            continue
        blocks: Any = part.get_payload()
        for block in blocks:
            status = str(block.get("status", "")).strip()
            for header in ("original-recipient", "final-recipient", "x-actual-recipient"):
                value = str(block.get(header, ""))
                address = value.split(";", 1)[-1].strip().strip("<>").lower()
                if address and status:
                    found.setdefault(address, status.split()[0])
    return found


def _status_near(text: str, address: str) -> str:
    """The first status code within 600 characters after the address (plain-text bounces)."""
    at = text.lower().find(address)
    if at < 0:
        return ""
    window = text[at : at + 600]
    cut = window.find(_EXIM_COPY)
    window = window if cut < 0 else window[:cut]
    enhanced = _STATUS.search(window)
    if enhanced:
        return enhanced.group(0)
    reply = _REPLY.search(window)
    return f"{reply.group(1)}.0.0" if reply else ""


def _automatic(msg: Message) -> bool:
    """RFC 3834 auto-replies, vacation and list traffic: never acted on as an unsubscribe."""
    auto = str(msg.get("auto-submitted", "no")).strip().lower()
    precedence = str(msg.get("precedence", "")).strip().lower()
    return (
        auto != "no"
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or any(h in msg for h in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"))
        or msg.get_content_type() == "multipart/report"
    )


def _unsubscriber(msg: Message, list_address: str) -> str | None:
    """The sender of a mail to the list address asking to unsubscribe (RFC 2369 mailto)."""
    recipients = [
        a.lower()
        for _, a in getaddresses(
            [
                str(v)
                for h in ("to", "cc", "delivered-to", "x-original-to", "envelope-to")
                for v in msg.get_all(h, [])
            ]
        )
    ]
    if recipients and list_address.lower() not in recipients:
        return None
    subject = " ".join(str(msg.get("subject", "")).split()).lower()
    asked = subject == "unsubscribe"
    if not asked and not subject:
        body = msg.get_payload(decode=True) if not msg.is_multipart() else b""
        first = next(
            (
                ln.strip()
                for ln in (body if isinstance(body, bytes) else b"")
                .decode("utf-8", "replace")
                .splitlines()
                if ln.strip()
            ),
            "",
        )
        asked = first.lower() == "unsubscribe"
    if not asked:
        return None
    address = parseaddr(str(msg.get("from", "")))[1].lower()
    local = address.partition("@")[0]
    if not address or "@" not in address or local in ("mailer-daemon", "postmaster"):
        return None
    return address


# -- sources: each yields (handle, raw bytes) and is told when a message is handled ------------


class Source(Protocol):
    def messages(self) -> Iterator[tuple[str, bytes]]: ...
    def done(self, handle: str) -> None: ...


def message_key(raw: bytes) -> str:
    """What the state remembers a handled message by: its Message-ID, else its bytes' hash."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    mid = " ".join(str(msg.get("message-id", "")).split())
    if mid:
        return "mid:" + mid
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class MaildirSource:
    """new/ and unseen cur/ messages; handled ones move to cur/ with the S (seen) flag."""

    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(path, factory=None, create=False)  # validates the layout
        self.path = Path(path)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for sub in ("new", "cur"):
            for name in sorted(os.listdir(self.path / sub)):
                if name.startswith("."):
                    continue
                info = name.partition(":2,")[2]
                if sub == "cur" and "S" in info:
                    continue
                handle = f"{sub}/{name}"
                try:
                    yield handle, (self.path / handle).read_bytes()
                except FileNotFoundError:  # another reader moved it
                    continue

    def done(self, handle: str) -> None:
        name = handle.partition("/")[2]
        base, _, info = name.partition(":2,")
        flags = "".join(sorted(set(info) | {"S"}))
        with contextlib.suppress(FileNotFoundError):  # another reader moved it
            os.rename(self.path / handle, self.path / "cur" / f"{base}:2,{flags}")


class MboxSource:
    """An mbox file, read-only: the state's processed_mail table makes each message count once."""

    def __init__(self, path: Path) -> None:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        self.box = mailbox.mbox(path, create=False)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        self.box.lock()
        try:
            for key in self.box.iterkeys():
                yield str(key), self.box.get_bytes(key)
        finally:
            self.box.unlock()

    def done(self, handle: str) -> None:
        pass


@dataclass
class ImapSource:
    """A folder of an IMAP mailbox. Handled messages get \\Seen and a custom keyword
    ($FeedsHandled) and are found with UID SEARCH UNKEYWORD, so a person reading the folder
    does not hide anything from us; servers that refuse custom keywords (PERMANENTFLAGS
    without \\*) or a configured `move_to` folder make us move handled messages instead."""

    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    security: str = "tls"  # tls | starttls | none (none: tests on 127.0.0.1 only)
    move_to: str = ""
    keyword: str = "$FeedsHandled"
    client: imaplib.IMAP4 | None = field(default=None, repr=False)
    can_keyword: bool = True
    caps: set[str] = field(default_factory=set)
    moved: list[bytes] = field(default_factory=list)

    def __enter__(self) -> ImapSource:
        if self.security == "tls":
            self.client = imaplib.IMAP4_SSL(self.host, self.port, timeout=60)
        else:
            self.client = imaplib.IMAP4(self.host, self.port, timeout=60)
            if self.security == "starttls":
                self.client.starttls()
        self.client.login(self.user, self.password)
        typ, data = self.client.capability()  # the post-login list (MOVE, UIDPLUS, ...)
        if typ == "OK" and data and data[0]:
            self.caps = set(data[0].decode("ascii", "replace").upper().split())
        typ, _ = self.client.select(_quote(self.folder))
        if typ != "OK":
            raise MailError(f"IMAP: cannot select the folder {self.folder!r}")
        flags = b" ".join(
            d for d in self.client.untagged_responses.get("OK", []) if isinstance(d, bytes)
        )
        permanent = re.search(rb"\[PERMANENTFLAGS \(([^)]*)\)\]", flags)
        self.can_keyword = bool(permanent and b"\\*" in permanent.group(1))
        return self

    def __exit__(self, *exc: object) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if self.moved:
                client.expunge()
            client.close()
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def messages(self) -> Iterator[tuple[str, bytes]]:
        assert self.client is not None
        if self.can_keyword and not self.move_to:
            typ, data = self.client.uid("SEARCH", "UNKEYWORD", self.keyword)
        else:
            typ, data = self.client.uid("SEARCH", "UNDELETED")
        if typ != "OK":
            raise MailError(f"IMAP: search failed: {data!r}")
        for uid in (data[0] or b"").split():
            typ, parts = self.client.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if typ == "OK" and raw is not None:
                yield uid.decode(), raw

    def done(self, handle: str) -> None:
        assert self.client is not None
        if self.can_keyword and not self.move_to:
            self.client.uid("STORE", handle, "+FLAGS.SILENT", f"(\\Seen {self.keyword})")
            return
        target = _quote(self.move_to or "Feeds-handled")
        if "MOVE" in self.caps:
            self.client.uid("MOVE", handle, target)
        else:
            self.client.uid("COPY", handle, target)
            self.client.uid("STORE", handle, "+FLAGS.SILENT", "(\\Seen \\Deleted)")
            self.moved.append(handle.encode())


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- acting on the state, each message exactly once -------------------------------------------


@dataclass
class Counts:
    messages: int = 0
    skipped: int = 0  # handled on an earlier run (only the flag/move was missing)
    disabled: int = 0
    soft: int = 0
    unsubscribed: int = 0
    ignored: int = 0


def process(
    source: Source, conn: Conn, now: datetime, *, host: str, list_address: str
) -> Counts:
    """Classify every new message and act on it in the same transaction that records it as
    handled; only then flag/move it. A crash in between leaves a message that the next run
    recognises (processed_mail) and only flags: nothing is counted twice."""
    counts = Counts()
    for handle, raw in source.messages():
        counts.messages += 1
        key = message_key(raw)
        with transaction(conn):
            if store.was_processed(conn, key):
                counts.skipped += 1
            else:
                result = classify(raw, host=host, list_address=list_address)
                outcome = _apply(conn, result, now, counts) if result.findings else result.reason
                counts.ignored += not result.findings
                store.mark_processed(conn, key, outcome, now)
        source.done(handle)
    return counts


def _subscriber_for(conn: Conn, finding: Finding) -> int | None:
    """Our Message-ID's subscriber when its key checks out (forwarded addresses bounce under
    another name), else the subscriber with the bounced address."""
    if finding.subscriber_id is not None and finding.message_key and finding.digest:
        token = store.subscriber_token(conn, finding.subscriber_id)
        if token is not None:
            key = hashlib.sha256(
                f"{finding.digest}\0{finding.subscriber_id}\0{token}".encode()
            ).hexdigest()[:16]
            if key == finding.message_key.split(".", 1)[1]:
                return finding.subscriber_id
    known = store.find_person(conn, finding.address)
    return None if known is None else known.id


def _apply(conn: Conn, result: Classified, now: datetime, counts: Counts) -> str:
    done = []
    for finding in result.findings:
        sid = _subscriber_for(conn, finding)
        if sid is None:
            done.append(f"{finding.kind}:unknown")
            continue
        if finding.kind == "permanent":
            counts.disabled += store.set_status(
                conn, sid, "disabled", now, f"bounce {finding.status}"
            )
        elif finding.kind == "temporary":
            if finding.digest:  # counted per digest; a soft bounce we cannot place is ignored
                counts.soft += 1
                counts.disabled += store.soft_bounce(conn, sid, finding.digest, finding.status, now)
        else:
            counts.unsubscribed += store.set_status(conn, sid, "unsubscribed", now)
        done.append(f"{finding.kind}:{sid}")
    return " ".join(done)


def read_bounces(
    config: Config,
    conn: Conn,
    now: datetime,
    *,
    maildir: Path | None = None,
    mbox: Path | None = None,
) -> Counts:
    """Handle new messages from --maildir, --mbox or the [bounces] IMAP mailbox.

    MailError (one line) when the mailbox cannot be read; nothing is counted twice."""
    host = config.site.host
    list_address = sender(config)[1]
    try:
        if maildir is not None:
            return process(MaildirSource(maildir), conn, now, host=host, list_address=list_address)
        if mbox is not None:
            return process(MboxSource(mbox), conn, now, host=host, list_address=list_address)
    except (FileNotFoundError, mailbox.Error, NotADirectoryError) as exc:
        raise MailError(f"{maildir or mbox}: not a readable mailbox: {exc}") from None
    settings = config.bounces
    password = os.environ.get(settings.password_env, "")
    if not password:
        raise MailError(
            f"bounces.imap_host is set but the environment variable {settings.password_env}"
            " holding the password is empty"
        )
    where = f"{settings.imap_host}:{settings.imap_port}"
    source = ImapSource(
        settings.imap_host,
        settings.imap_port,
        settings.imap_user,
        password,
        settings.folder,
        settings.imap_security,
    )
    try:
        with source:
            return process(source, conn, now, host=host, list_address=list_address)
    except (imaplib.IMAP4.error, OSError) as exc:
        raise MailError(f"IMAP server {where}: {exc}") from None
