"""Seed dates: the few written forms SPEC 2 allows, validated, never guessed."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

MONTHS: dict[str, int] = {}
_NAMES = (
    ("january jan", "січня січень"),
    ("february feb", "лютого лютий"),
    ("march mar", "березня березень"),
    ("april apr", "квітня квітень"),
    ("may", "травня травень"),
    ("june jun", "червня червень"),
    ("july jul", "липня липень"),
    ("august aug", "серпня серпень"),
    ("september sept sep", "вересня вересень"),
    ("october oct", "жовтня жовтень"),
    ("november nov", "листопада листопад"),
    ("december dec", "грудня грудень"),
)
for _number, (_english, _ukrainian) in enumerate(_NAMES, start=1):
    for _name in (_english + " " + _ukrainian).split():
        MONTHS[_name] = _number

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_TIME = r"(?:[T ]|,?\s+(?:at\s+|о\s+)?)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
_OFFSET = r"(?P<Z>Z|[+-]\d{2}:?\d{2})?"
_END = r"(?=\s|$)"
_FORMS = (
    re.compile(
        r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
        r"(?:Z|[+-]\d{2}:?\d{2})?)?)" + _END
    ),
    re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?:" + _TIME + _OFFSET + ")?" + _END),
    re.compile(
        r"(?P<d>\d{1,2})\s+(?P<mon>"
        + _MONTH
        + r")\.?,?\s+(?P<y>\d{4})(?:\s*(?:р\.|року|р(?=\s|$)))?"
        r"(?:" + _TIME + _OFFSET + ")?" + _END,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?P<mon>" + _MONTH + r")\.?\s+(?P<d>\d{1,2}),?\s+(?P<y>\d{4})"
        r"(?:" + _TIME + _OFFSET + ")?" + _END,
        re.IGNORECASE,
    ),
)


FIRST_YEAR, LAST_YEAR = 1900, 2999  # published dates, in site time (see site_time)


class DateError(ValueError):
    """A date that cannot be read; the message says why."""


def site_time(when: datetime, tz: tzinfo) -> datetime:
    """when in the site timezone, with its UTC offset rounded to whole minutes.

    Before standard time, zones kept local mean time (Kyiv: +02:02:04), and neither RFC
    3339 nor RFC 822 can write seconds in an offset. The instant stays the same; only
    the wall time shown moves by those seconds, and always later (the offset is rounded
    up), so that an article at midnight stays on its day. Every published date goes
    through here.
    """
    local = when.astimezone(tz)
    offset = local.utcoffset()
    if offset is None or not offset.seconds % 60:
        return local
    minutes = math.ceil(offset.total_seconds() / 60)
    return when.astimezone(timezone(timedelta(minutes=minutes)))


def parse_date_prefix(value: str, tz: tzinfo) -> tuple[datetime, str]:
    """Read a date at the start of value; return it (aware) and the text after it."""
    text = value.strip()
    for form in _FORMS:
        match = form.match(text)
        if match:
            when = _to_datetime(match, tz)
            return when, text[match.end() :].strip()
    shown = text.split()[0] if text else ""
    raise DateError(f"invalid date {shown!r}" if shown else "empty date")


def parse_date(value: str, tz: tzinfo) -> datetime:
    """Read a whole value as a date; trailing text is an error."""
    when, rest = parse_date_prefix(value, tz)
    if rest:
        raise DateError(f"invalid date {value.strip()!r}")
    return when


def _to_datetime(match: re.Match[str], tz: tzinfo) -> datetime:
    groups = match.groupdict()
    shown = match.group(0)
    try:
        if groups.get("iso"):
            from dateutil.parser import isoparse

            when = isoparse(groups["iso"].replace(" ", "T", 1))
        else:
            month = int(groups["m"]) if groups.get("m") else MONTHS[groups["mon"].lower()]
            when = datetime(
                int(groups["y"]),
                month,
                int(groups["d"]),
                int(groups["H"] or 0),
                int(groups["M"] or 0),
                int(groups["S"] or 0),
            )
            if groups.get("Z"):
                when = when.replace(tzinfo=_offset(groups["Z"]))
    except (ValueError, OverflowError) as exc:
        raise DateError(f"invalid date {shown!r}: {exc}") from None
    if not 1000 <= when.year <= 2999:
        raise DateError(f"invalid date {shown!r}: year outside 1000-2999")
    if when.tzinfo is None:
        when = _localize(when, tz)
    # Checked in site time, where it is published: 1000-01-01T00:00+14:00 is year 999 in UTC.
    if not FIRST_YEAR <= site_time(when, tz).year <= LAST_YEAR:
        raise DateError(
            f"invalid date {shown!r}: outside {FIRST_YEAR}-{LAST_YEAR} in the site timezone"
        )
    return when


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    """Attach the site timezone; a wall time skipped by DST moves forward, as clocks do."""
    aware = naive.replace(tzinfo=tz)
    # In a gap fold=0 applies the offset from before the change, so the round trip lands
    # after the gap (02:30 skipped at 02:00 -> 03:30); fold=1 would move it an hour back.
    roundtrip = aware.astimezone(UTC).astimezone(tz)
    return roundtrip if roundtrip.replace(tzinfo=None) != naive else aware


def parse_now(value: str, tz: tzinfo) -> datetime:
    """--now / FEEDS_NOW: an ISO date or datetime, naive meaning site time."""
    from dateutil.parser import isoparse

    try:
        when = isoparse(value.strip())
    except ValueError:
        raise DateError(f"--now: invalid ISO date {value!r}") from None
    return when if when.tzinfo else _localize(when, tz)
