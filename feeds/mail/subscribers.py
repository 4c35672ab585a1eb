"""The digest's subscribers: validated, merged case-insensitively, each with a random token."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email

from feeds.errors import FeedsError
from feeds.mail.headers import header_text, split_mailbox
from feeds.store import mailing as db
from feeds.store import signups
from feeds.store.backend import Conn
from feeds.store.manifest import transaction

AddStatus = Literal["added", "reactivated", "renamed", "exists", "kept_removed"]


class SubscriberError(FeedsError):
    """A bad address, an unknown subscriber or an unreadable CSV file; exit status 2."""


def normalize(email: str) -> str:
    """A checked, normalised ASCII address (domain lower-cased, IDN in punycode)."""
    text = email.strip()
    try:
        checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise SubscriberError(f"not a valid e-mail address: {text!r}: {exc}") from None
    return str(checked.ascii_email or checked.normalized)


def clean_name(name: str) -> str:
    """A display name as mail headers will carry it (feeds.mail.headers.header_text: line breaks
    and control characters become a space, runs of white space one, capped in length)."""
    return header_text(name)


def parse_entry(entry: str, name: str = "") -> tuple[str, str]:
    """(normalised address, clean name) from `address` or `Name <address>`.

    An explicit name (`--name`, the CSV's name column) wins over the one in angle form.
    """
    given, address = split_mailbox(entry)
    return normalize(address), clean_name(name) or clean_name(given)


def new_token() -> str:
    """A random, URL-safe unsubscribe token (never starting with "-", which a command
    line would take for an option: `feeds subscribers remove --token -x...` fails)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.startswith("-"):
            return token


def add(
    conn: Conn, email: str, name: str, now: datetime, *, revive: bool = True
) -> AddStatus:
    """Subscribe an address; a removed one comes back only when revive is set."""
    address, name = parse_entry(email, name)
    with transaction(conn):
        return _add(conn, address, name, now, revive)


def _add(
    conn: Conn, address: str, name: str, now: datetime, revive: bool
) -> AddStatus:
    known = db.find_subscriber(conn, address)
    if known is None:
        db.insert_subscriber(conn, address, name, new_token(), now)
        return "added"
    if not known.active:
        if not revive:
            return "kept_removed"
        db.reactivate_subscriber(conn, known.id, name, new_token(), now)
        return "reactivated"
    if signups.status_of(conn, known.id) != "active":
        # Pending (a web sign-up not confirmed) or disabled by bounces: the owner's own add
        # makes it active; an import leaves it as it is.
        if not revive:
            return "kept_removed"
        signups.activate(conn, known.id)
        return "reactivated"
    if name and name != known.name:
        db.update_name(conn, known.id, name)
        return "renamed"
    return "exists"


def remove(
    conn: Conn, now: datetime, *, email: str | None = None, token: str | None = None
) -> bool:
    """Unsubscribe by address or token; False when it was already removed."""
    with transaction(conn):
        if token is not None:
            known = db.find_by_token(conn, token.strip())
            if known is None:
                raise SubscriberError("no subscriber has that token")
        else:
            address = normalize(email or "")
            known = db.find_subscriber(conn, address)
            if known is None:
                raise SubscriberError(f"{address} is not subscribed")
        if not known.active:
            return False
        db.remove_subscriber(conn, known.id, now)
        return True


@dataclass(frozen=True)
class ImportResult:
    """What an import did; errors are 'FILE:LINE: reason' lines for the rows left out."""

    added: int
    existing: int
    kept_removed: int
    errors: tuple[str, ...]


def import_csv(conn: Conn, path: Path, now: datetime) -> ImportResult:
    """Add every valid row of a CSV with an `email` column (and optional `name`).

    Addresses that unsubscribed earlier stay removed: a list import never re-subscribes
    someone who left. Bad rows are reported and skipped; the rest go in in one transaction.
    A file that is not well-formed CSV (an unterminated quote) is refused as a whole,
    naming the line where the broken record starts: nothing of it is imported.
    """
    rows = _read_csv(path)
    counts = {"added": 0, "existing": 0, "kept_removed": 0}
    errors: list[str] = []
    with transaction(conn):
        for line, email, name in rows:
            try:
                address, clean = parse_entry(email, name)
            except SubscriberError as exc:
                errors.append(f"{path}:{line}: {exc}")
                continue
            status = _add(conn, address, clean, now, revive=False)
            key = {"added": "added", "kept_removed": "kept_removed"}.get(status, "existing")
            counts[key] += 1
    return ImportResult(counts["added"], counts["existing"], counts["kept_removed"], tuple(errors))


def _read_csv(path: Path) -> list[tuple[int, str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # strict: a quote left open is an error, not a field swallowing the rest.
            reader = csv.reader(handle, strict=True)
            header = [cell.strip().lower() for cell in _records(reader, path, 1) or []]
            if "email" not in header:
                raise SubscriberError(f"{path}: no 'email' column in the first line")
            at, name_at = header.index("email"), header.index("name") if "name" in header else -1
            rows: list[tuple[int, str, str]] = []
            while True:
                start = reader.line_num + 1
                record = _records(reader, path, start)
                if record is None:
                    return rows
                if not any(cell.strip() for cell in record):
                    continue
                email = record[at] if at < len(record) else ""
                name = record[name_at] if 0 <= name_at < len(record) else ""
                rows.append((start, email, name))
    except FileNotFoundError:
        raise SubscriberError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _records(reader: Iterator[list[str]], path: Path, start: int) -> list[str] | None:
    """The next record (None at the end); a malformed one names the line it starts on."""
    try:
        return next(reader, None)
    except csv.Error as exc:
        reason = "unterminated quote" if "unexpected end of data" in str(exc) else str(exc)
        raise SubscriberError(f"{path} line {start}: {reason}") from None
