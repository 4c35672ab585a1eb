"""The type and range of every feeds.toml key, declared next to the key.

Each field of the config dataclasses carries a Rule in its metadata (``field(metadata=...)``):
what is expected, in the words of the one-line error (`smtp.timeout must be a number of seconds
between 1 and 600`), and a check that returns the value as the program uses it or raises
ValueError. A small table of our own rather than pydantic or msgspec: the dataclasses stay as
they are for the rest of the code, and every message stays one line that we wrote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Check = Callable[[Any], Any]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOT_IN_URL = re.compile(r"[\s\"<>\\^`{|}]")  # RFC 3986 never allows these in a URL
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?[^?]*\?=")  # RFC 2047: a mail client decodes it
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})|\[?[0-9A-Fa-f:.]{2,45}\]?")
_DNS_LABELS = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})*")
_HH_MM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True)
class Rule:
    """What one key accepts: `expected` finishes the sentence "KEY must be ..."."""

    expected: str
    check: Check


def rule(expected: str, check: Check) -> Mapping[str, Rule]:
    """Field metadata declaring a key's rule."""
    return {"rule": Rule(expected, check)}


def whole(low: int, high: int, noun: str = "a whole number") -> Mapping[str, Rule]:
    """An integer (not a bool, not a float) in [low, high]."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError
        return int(value)

    return rule(f"{noun} between {low} and {high}", check)


def seconds(low: float, high: float) -> Mapping[str, Rule]:
    """A finite number of seconds in [low, high], as a float."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        # Compared before float(): an int past 2**1024 would overflow the conversion.
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError
        if not low <= value <= high:
            raise ValueError
        return float(value)

    return rule(f"a number of seconds between {low:g} and {high:g}", check)


def flag() -> Mapping[str, Rule]:
    """true or false."""

    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError
        return value

    return rule("true or false", check)


def text(low: int, high: int, what: str = "text") -> Mapping[str, Rule]:
    """A string of low..high characters, not only spaces when low > 0."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not low <= len(value) <= high:
            raise ValueError
        if low and not value.strip():
            raise ValueError
        return value

    span = f"up to {high}" if low == 0 else f"{low} to {high}"
    return rule(f"{what} of {span} characters", check)


def pattern(regex: re.Pattern[str], expected: str, empty: bool = False) -> Mapping[str, Rule]:
    """A string matching regex entirely (or "" when empty is allowed)."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError
        if (value or not empty) and not regex.fullmatch(value):
            raise ValueError
        return value

    return rule(expected, check)


def choice(options: tuple[str, ...]) -> Mapping[str, Rule]:
    """One of a few words."""

    def check(value: Any) -> str:
        if value not in options or not isinstance(value, str):
            raise ValueError
        return value

    return rule(f"one of {', '.join(options)}", check)


def env_name(empty: bool = False) -> Mapping[str, Rule]:
    """The name of an environment variable (the secret itself never sits in the file)."""
    what = "the name of an environment variable"
    return pattern(_ENV_NAME, what + (' or ""' if empty else ""), empty)


def host() -> Mapping[str, Rule]:
    """A host name or an IP address."""
    return pattern(HOST, "a host name or IP address")


def dns_labels() -> Mapping[str, Rule]:
    """A DKIM selector: DNS labels, or "" for no DKIM signature."""
    return pattern(_DNS_LABELS, 'a DKIM selector (letters, digits, -) or ""', empty=True)


def clock_time() -> Mapping[str, Rule]:
    """HH:MM on the 24-hour clock."""
    return pattern(_HH_MM, 'a time "HH:MM" such as "17:00"')


def path(optional: bool = False) -> Mapping[str, Rule]:
    """A folder path (relative ones are relative to feeds.toml)."""

    def check(value: Any) -> Path:
        if not isinstance(value, str) or not value.strip() or len(value) > 4096:
            raise ValueError
        return Path(value)

    return rule("a folder path", check)


def patterns() -> Mapping[str, Rule]:
    """A list of file name patterns (fnmatch)."""

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or len(value) > 1000:
            raise ValueError
        if not all(isinstance(v, str) and 0 < len(v) <= 255 for v in value):
            raise ValueError
        if any(re.search(r"[\x00-\x1f\x7f]", v) for v in value):
            raise ValueError
        return tuple(value)

    return rule('a list of file name patterns such as ["*.bak", "drafts/*"]', check)


def url(*, optional: bool, token: bool = False) -> Mapping[str, Rule]:
    """An absolute http(s) URL with a host and no user info or fragment."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > 2000:
            raise ValueError
        if optional and value == "":
            return value
        if token and "{token}" not in value:
            raise ValueError
        plain = value.replace("{token}", "x") if token else value
        parts = urlsplit(plain)
        if parts.scheme not in ("http", "https") or not parts.hostname or NOT_IN_URL.search(plain):
            raise ValueError
        if "@" in parts.netloc or parts.fragment or "#" in plain:
            raise ValueError
        _ = parts.port  # raises ValueError for a port that is not a number in 0..65535
        return value

    what = "an absolute http(s) URL with a host, no user info and no fragment"
    if token:
        what = 'an https or http URL containing {token}, or ""'
    elif optional:
        what += ', or ""'
    return rule(what, check)


def database_url() -> Mapping[str, Rule]:
    """state.url: "" (SQLite in paths.state) or postgresql://user@host:port/db, no password
    (a secret in the config file would be readable by whoever reads the config)."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > 2000:
            raise ValueError
        if value == "":
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres") or NOT_IN_URL.search(value):
            raise ValueError
        if parts.password is not None or parts.fragment:
            raise ValueError
        _ = parts.port  # raises ValueError for a port that is not a number in 0..65535
        return value

    return rule(
        'a postgresql://user@host:port/database URL without a password (it comes from'
        ' the environment: state.password_env), or "" for SQLite in paths.state',
        check,
    )


def base_url() -> Mapping[str, Rule]:
    """site.base_url: where the site lives; nothing after the path (no query either)."""
    inner = url(optional=False)["rule"].check

    def check(value: Any) -> str:
        inner(value)
        if urlsplit(value).query or "?" in value:
            raise ValueError
        return str(value)

    return rule("an absolute http(s) URL with a host, no user info, query or fragment", check)


def address() -> Mapping[str, Rule]:
    """One plain address, optionally with a display name: `News <news@example.org>`."""
    from email_validator import EmailNotValidError, validate_email

    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > 320 or ENCODED_WORD.search(value):
            raise ValueError
        found = getaddresses([value])
        if len(found) != 1 or not found[0][1]:
            raise ValueError
        try:
            validate_email(found[0][1], check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValueError from None
        return value

    return rule('one e-mail address, as "news@example.org" or "News <news@example.org>"', check)


def timezone() -> Mapping[str, Rule]:
    """An IANA timezone name."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not value or len(value) > 100:
            raise ValueError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError from None
        return value

    return rule("a known timezone such as UTC or Europe/Kyiv", check)


def language() -> Mapping[str, Rule]:
    """A language code babel knows (dates and digests are localised with it)."""

    def check(value: Any) -> str:
        from babel import Locale, UnknownLocaleError

        if not isinstance(value, str) or not value or len(value) > 35:
            raise ValueError
        try:
            Locale.parse(value.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValueError from None
        return value

    return rule("a known language code such as en or uk", check)
