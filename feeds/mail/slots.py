"""Send slots: the weekly moment a digest closes, and the ISO week that names it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from feeds.config import WEEKDAYS, Config
from feeds.errors import ConfigError

WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")
WEEK = timedelta(days=7)


class WeekError(ConfigError):
    """A --week value that names no slot, or one that has not come yet."""


@dataclass(frozen=True)
class Slot:
    """One send slot: when it falls (site time) and its ISO-week name."""

    week: str
    at: datetime


def week_name(day: date) -> str:
    """The ISO week of a date, as 2026-W08."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def slot_in_week(config: Config, week: str) -> Slot:
    """The slot of an ISO week named like 2026-W08."""
    match = WEEK_PATTERN.fullmatch(week.strip())
    if match is None:
        raise WeekError(f"--week must look like 2026-W08, got {week!r}")
    year, number = int(match[1]), int(match[2])
    try:
        day = date.fromisocalendar(year, number, WEEKDAYS.index(config.digest.weekday) + 1)
    except ValueError:
        raise WeekError(f"--week {week}: {year} has no week {number}") from None
    return _slot_on(config, day)


def latest_slot(config: Config, now: datetime) -> Slot:
    """The latest slot at or before now."""
    local = now.astimezone(config.site.tz)
    back = (local.weekday() - WEEKDAYS.index(config.digest.weekday)) % 7
    slot = _slot_on(config, local.date() - timedelta(days=back))
    if slot.at > now:
        slot = _slot_on(config, slot.at.date() - WEEK)
    return slot


def _slot_on(config: Config, day: date) -> Slot:
    hour, minute = config.digest.hour_minute
    at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=config.site.tz)
    return Slot(week_name(day), at)


def first_window_start(slot: Slot) -> datetime:
    """Where the very first digest starts: one week before its slot."""
    # Wall-clock arithmetic in the site timezone: a week is a week across a DST change.
    return slot.at - WEEK
