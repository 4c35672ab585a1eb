"""Send slots and the ISO weeks that name them; the localised date range of a heading."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_interval
from hypothesis import given
from hypothesis import strategies as st

from feeds.config import Config, DigestConfig, SiteConfig
from feeds.mail.digest import date_range
from feeds.mail.slots import WeekError, latest_slot, slot_in_week, week_name
from feeds.site.templating import babel_locale
from tests.hypothesis_profiles import PROPERTY

KYIV = ZoneInfo("Europe/Kyiv")
CONFIG = Config(site=SiteConfig(timezone="Europe/Kyiv", language="uk"))


def kyiv(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=KYIV)


def test_week_2026_w08_is_friday_20_february_at_17_kyiv() -> None:
    assert slot_in_week(CONFIG, "2026-W08").at == kyiv("2026-02-20T17:00")


def test_latest_slot_at_the_slot_itself_is_that_slot() -> None:
    assert latest_slot(CONFIG, kyiv("2026-02-20T17:00")).week == "2026-W08"


def test_latest_slot_a_minute_before_is_the_previous_week() -> None:
    slot = latest_slot(CONFIG, kyiv("2026-02-20T16:59"))
    assert (slot.week, slot.at) == ("2026-W07", kyiv("2026-02-13T17:00"))


def test_latest_slot_days_later_is_still_the_last_friday() -> None:
    assert latest_slot(CONFIG, kyiv("2026-02-26T23:59")).week == "2026-W08"


def test_slot_follows_configured_weekday_and_time() -> None:
    config = dataclasses.replace(CONFIG, digest=DigestConfig(weekday="mon", time="08:30"))
    assert slot_in_week(config, "2026-W08").at == kyiv("2026-02-16T08:30")


def test_slot_is_site_time_across_a_dst_change() -> None:
    # Kyiv moves to summer time on 29 March 2026; the slot stays at 17:00 local.
    slot = slot_in_week(CONFIG, "2026-W14")
    assert slot.at.astimezone(UTC).isoformat() == "2026-04-03T14:00:00+00:00"


def test_week_name_uses_the_iso_year_at_new_year() -> None:
    assert week_name(date(2027, 1, 1)) == "2026-W53"


@pytest.mark.parametrize("bad", ["2026-8", "W08", "2026-W8x", "last friday"])
def test_malformed_week_is_refused(bad: str) -> None:
    with pytest.raises(WeekError, match="2026-W08"):
        slot_in_week(CONFIG, bad)


def test_week_53_of_a_year_without_one_is_refused() -> None:
    with pytest.raises(WeekError, match="no week 53"):
        slot_in_week(CONFIG, "2025-W53")


def spelled_out(start: date, end: date, language: str) -> str:
    """Babel's own interval for the abbreviated-month skeleton, its months then spelled out.

    The expected heading comes from the installed Babel, never a literal: CLDR changes its
    separators and spaces between releases (– became NBSP+— in Ukrainian, "р." got a NNBSP).
    """
    locale = Locale.parse(language)
    text = format_interval(start, end, "yMMMd", locale=locale)
    names = locale.months["format"]
    wide = {names["abbreviated"][m]: names["wide"][m] for m in {start.month, end.month}}
    pattern = "|".join(re.escape(short) for short in sorted(wide, key=len, reverse=True))
    return re.sub(pattern, lambda found: wide[found.group()], text)


@pytest.mark.parametrize(
    ("start", "end", "language", "words"),
    [
        (date(2026, 2, 13), date(2026, 2, 20), "uk", ["13", "20", "лютого", "2026"]),
        (date(2026, 1, 30), date(2026, 2, 6), "uk", ["30 січня", "6 лютого", "2026"]),
        (date(2025, 12, 26), date(2026, 1, 2), "en", ["December 26, 2025", "January 2, 2026"]),
    ],
)
def test_heading_range_is_the_locales_interval_with_months_spelled_out(
    start: date, end: date, language: str, words: list[str]
) -> None:
    heading = date_range(start, end, language)
    assert heading == spelled_out(start, end, language)
    # Independent of CLDR's punctuation: the right days, genitive months and years, in order.
    positions = [heading.index(word) for word in words]
    assert positions == sorted(positions)


@PROPERTY
@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    days=st.integers(min_value=0, max_value=400),
    language=st.sampled_from(["uk", "en", "en-GB", "de", "fr", "pl"]),
)
def test_any_heading_range_is_the_locales_interval_with_months_spelled_out(
    start: date, days: int, language: str
) -> None:
    end = start + timedelta(days=days)
    assert date_range(start, end, language) == spelled_out(start, end, babel_locale(language))
