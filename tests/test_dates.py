"""Seed dates (SPEC 2): every written form, the site timezone, and invalid dates as errors."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.read.dates import DateError, parse_date, parse_date_prefix, parse_now

KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-20", datetime(2026, 2, 20, tzinfo=KYIV)),
        ("2026-02-20T09:30", datetime(2026, 2, 20, 9, 30, tzinfo=KYIV)),
        (
            "2026-02-20 09:30:00+02:00",
            datetime(2026, 2, 20, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("20.02.2026", datetime(2026, 2, 20, tzinfo=KYIV)),
        ("February 20, 2026", datetime(2026, 2, 20, tzinfo=KYIV)),
        ("20 лютого 2026", datetime(2026, 2, 20, tzinfo=KYIV)),
    ],
    ids=["iso", "iso-time", "iso-offset", "day-first", "english-month", "ukrainian-month"],
)
def test_every_spec_date_form_is_read(text: str, expected: datetime) -> None:
    assert parse_date(text, KYIV) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-02-20", "20.02.2026", "February 20, 2026", "20 лютого 2026"],
)
def test_date_without_time_is_midnight_site_time(text: str) -> None:
    when = parse_date(text, NEW_YORK)
    assert (when.hour, when.minute, when.second) == (0, 0, 0)
    assert when.utcoffset() == timedelta(hours=-5)


def test_time_without_offset_is_in_the_site_timezone() -> None:
    when = parse_date("2026-02-20T09:30", NEW_YORK)
    assert when.astimezone(UTC) == datetime(2026, 2, 20, 14, 30, tzinfo=UTC)


def test_explicit_offset_wins_over_the_site_timezone() -> None:
    when = parse_date("2026-02-20 09:30:00+02:00", NEW_YORK)
    assert when.astimezone(UTC) == datetime(2026, 2, 20, 7, 30, tzinfo=UTC)


def test_utc_designator_z_is_utc() -> None:
    assert parse_date("2026-02-20T09:30Z", KYIV).utcoffset() == timedelta(0)


def test_month_names_ignore_case() -> None:
    assert parse_date("20 ЛЮТОГО 2026", KYIV) == parse_date("FEBRUARY 20, 2026", KYIV)


def test_time_after_a_day_first_date_is_read() -> None:
    assert parse_date("20.02.2026 09:30", KYIV) == datetime(2026, 2, 20, 9, 30, tzinfo=KYIV)


def test_every_parsed_date_is_timezone_aware() -> None:
    for text in ("2026-02-20", "2026-02-20T09:30", "20.02.2026", "20 лютого 2026"):
        assert parse_date(text, KYIV).utcoffset() is not None


def test_summer_date_gets_the_summer_offset() -> None:
    assert parse_date("2026-07-01", KYIV).utcoffset() == timedelta(hours=3)


def test_wall_time_skipped_by_dst_moves_forward() -> None:
    # Kyiv skips 03:00-04:00 on 29 March 2026: 03:30 does not exist, the clock shows 04:30.
    when = parse_date("2026-03-29T03:30", KYIV)
    assert when.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert when.astimezone(KYIV).hour == 4


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-30",
        "31.04.2026",
        "February 30, 2026",
        "30 лютого 2026",
        "tomorrow",
        "yesterday",
        "0999-12-31",
        "3000-01-01",
        "20.02.0999",
        "2026-13-01",
        "2026-02-20T25:00",
        "2026-02-20T09:30+25:00",
        "2026-2-20",
        "",
    ],
)
def test_invalid_date_is_an_error_not_a_guess(text: str) -> None:
    with pytest.raises(DateError):
        parse_date(text, KYIV)


def test_year_bounds_1900_and_2999_are_accepted() -> None:
    assert parse_date("1900-01-01", KYIV).year == 1900
    assert parse_date("2999-12-31", KYIV).year == 2999


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("1000-01-01T00:00+14:00", UTC),  # year 999 in site time: was archive/0999-12.html
        ("2999-12-31T23:00-12:00", UTC),  # year 3000 in site time
        ("1899-12-31", KYIV),
        ("2999-12-31T23:30", timezone(timedelta(hours=1))),  # fine
    ],
)
def test_a_date_outside_1900_2999_in_site_time_is_an_error(text: str, zone: tzinfo) -> None:
    if text.endswith("23:30"):
        assert parse_date(text, zone).year == 2999
        return
    with pytest.raises(DateError, match="outside 1900-2999 in the site timezone"):
        parse_date(text, zone)


def test_error_message_names_the_bad_date() -> None:
    with pytest.raises(DateError, match="2026-02-30"):
        parse_date("2026-02-30", KYIV)


def test_date_prefix_returns_the_text_after_the_date() -> None:
    when, rest = parse_date_prefix("2026-02-20 Україна пропонує Японії", KYIV)
    assert when == datetime(2026, 2, 20, tzinfo=KYIV)
    assert rest == "Україна пропонує Японії"


def test_date_prefix_with_time_and_offset_keeps_the_lead() -> None:
    when, rest = parse_date_prefix("2026-02-18 09:30+02:00 Порти Одеси", KYIV)
    assert when.astimezone(UTC) == datetime(2026, 2, 18, 7, 30, tzinfo=UTC)
    assert rest == "Порти Одеси"


def test_whole_value_with_trailing_text_is_not_a_date() -> None:
    with pytest.raises(DateError):
        parse_date("2026-02-20 and more", KYIV)


def test_now_option_accepts_naive_time_as_site_time() -> None:
    assert parse_now("2026-03-01T12:00", KYIV) == datetime(2026, 3, 1, 12, tzinfo=KYIV)


def test_now_option_rejects_free_text() -> None:
    with pytest.raises(DateError):
        parse_now("next friday", KYIV)


@given(st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30, 23, 59)))
def test_any_iso_minute_in_range_reads_back_as_written(naive: datetime) -> None:
    naive = naive.replace(second=0, microsecond=0)
    text = naive.strftime("%Y-%m-%dT%H:%M")
    fixed = timezone(timedelta(hours=2))
    assert parse_date(text, fixed) == naive.replace(tzinfo=fixed)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_all_written_forms_of_one_day_agree(day: date) -> None:
    iso = parse_date(day.isoformat(), KYIV)
    assert parse_date(f"{day.day:02d}.{day.month:02d}.{day.year}", KYIV) == iso
    english = calendar.month_name[day.month]
    assert parse_date(f"{english} {day.day}, {day.year}", KYIV) == iso
