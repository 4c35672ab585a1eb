"""The digest's subscribers: validated, merged case-insensitively, each with a random token."""

from __future__ import annotations

import csv
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from email_validator import EmailNotValidError, validate_email

from feeds.db import mailing as db
from feeds.db.manifest import transaction
from feeds.errors import FeedsError

AddStatus = Literal["added", "reactivated", "renamed", "exists", "kept_removed"]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    """A display name with every line break and control character folded to a space."""
    return " ".join(_CONTROL.sub(" ", name).split())


def new_token() -> str:
    """A random, URL-safe unsubscribe token (never starting with "-", which a command
    line would take for an option: `feeds subscribers remove --token -x...` fails)."""
    while True:
        token = secrets.token_urlsafe(18)
        if not token.startswith("-"):
            return token


def add(
    conn: sqlite3.Connection, email: str, name: str, now: datetime, *, revive: bool = True
) -> AddStatus:
    """Subscribe an address; a removed one comes back only when revive is set."""
    address, name = normalize(email), clean_name(name)
    with transaction(conn):
        return _add(conn, address, name, now, revive)


def _add(
    conn: sqlite3.Connection, address: str, name: str, now: datetime, revive: bool
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
    if name and name != known.name:
        db.update_name(conn, known.id, name)
        return "renamed"
    return "exists"


def remove(
    conn: sqlite3.Connection, now: datetime, *, email: str | None = None, token: str | None = None
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


def import_csv(conn: sqlite3.Connection, path: Path, now: datetime) -> ImportResult:
    """Add every valid row of a CSV with an `email` column (and optional `name`).

    Addresses that unsubscribed earlier stay removed: a list import never re-subscribes
    someone who left. Bad rows are reported and skipped; the rest go in in one transaction.
    """
    rows = _read_csv(path)
    counts = {"added": 0, "existing": 0, "kept_removed": 0}
    errors: list[str] = []
    with transaction(conn):
        for line, email, name in rows:
            try:
                address = normalize(email)
            except SubscriberError as exc:
                errors.append(f"{path}:{line}: {exc}")
                continue
            status = _add(conn, address, clean_name(name), now, revive=False)
            key = {"added": "added", "kept_removed": "kept_removed"}.get(status, "existing")
            counts[key] += 1
    return ImportResult(counts["added"], counts["existing"], counts["kept_removed"], tuple(errors))


def _read_csv(path: Path) -> list[tuple[int, str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            if "email" not in header:
                raise SubscriberError(f"{path}: no 'email' column in the first line")
            at, name_at = header.index("email"), header.index("name") if "name" in header else -1
            rows: list[tuple[int, str, str]] = []
            for record in reader:
                if not any(cell.strip() for cell in record):
                    continue
                email = record[at] if at < len(record) else ""
                name = record[name_at] if 0 <= name_at < len(record) else ""
                rows.append((reader.line_num, email, name))
            return rows
    except FileNotFoundError:
        raise SubscriberError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise SubscriberError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise SubscriberError(f"{path}: cannot read: {exc.strerror or exc}") from None
