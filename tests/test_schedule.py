"""The daemon's weekly digest trigger: right weekday, right local time across DST changes."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feeds.config import WEEKDAYS, Config, DigestConfig, SiteConfig
from feeds.mail.slots import latest_slot
from feeds.run.schedule import digest_trigger

KYIV = ZoneInfo("Europe/Kyiv")
UTC = ZoneInfo("UTC")


def kyiv_config(weekday: str = "fri", time: str = "17:00") -> Config:
    return Config(
        site=SiteConfig(timezone="Europe/Kyiv"), digest=DigestConfig(weekday=weekday, time=time)
    )


def next_fire(config: Config, after: datetime) -> datetime:
    fire: datetime = digest_trigger(config).get_next_fire_time(None, after)
    return fire


@pytest.mark.parametrize(
    ("after", "expected_utc"),
    [
        # DST starts in Kyiv on Sunday 29 March 2026 (EET +02 -> EEST +03).
        (datetime(2026, 3, 23, tzinfo=KYIV), datetime(2026, 3, 27, 15, 0, tzinfo=UTC)),
        (datetime(2026, 3, 28, tzinfo=KYIV), datetime(2026, 4, 3, 14, 0, tzinfo=UTC)),
        # DST ends on Sunday 25 October 2026 (EEST +03 -> EET +02).
        (datetime(2026, 10, 19, tzinfo=KYIV), datetime(2026, 10, 23, 14, 0, tzinfo=UTC)),
        (datetime(2026, 10, 24, tzinfo=KYIV), datetime(2026, 10, 30, 15, 0, tzinfo=UTC)),
    ],
)
def test_digest_fires_at_five_pm_local_on_both_sides_of_a_dst_change(
    after: datetime, expected_utc: datetime
) -> None:
    fire = next_fire(kyiv_config(), after)
    assert fire == expected_utc
    assert (fire.astimezone(KYIV).hour, fire.astimezone(KYIV).minute) == (17, 0)


@pytest.mark.parametrize("weekday", WEEKDAYS)
def test_digest_weekday_is_taken_by_name_not_by_number(weekday: str) -> None:
    fire = next_fire(kyiv_config(weekday=weekday), datetime(2026, 2, 1, tzinfo=KYIV))
    assert fire.astimezone(KYIV).weekday() == WEEKDAYS.index(weekday)


@pytest.mark.parametrize(
    ("weekday", "time", "week_of"),
    [
        ("fri", "17:00", datetime(2026, 3, 23, tzinfo=KYIV)),
        ("fri", "17:00", datetime(2026, 10, 19, tzinfo=KYIV)),
        ("sun", "03:30", datetime(2026, 3, 23, tzinfo=KYIV)),  # a time DST skips
        ("sun", "03:30", datetime(2026, 10, 19, tzinfo=KYIV)),  # a time DST repeats
        ("mon", "00:00", datetime(2026, 3, 23, tzinfo=KYIV)),
    ],
)
def test_daemon_fires_exactly_at_the_slot_cron_runs_would_pick(
    weekday: str, time: str, week_of: datetime
) -> None:
    config = kyiv_config(weekday, time)
    for week in range(3):
        after = week_of + timedelta(weeks=week)
        fire = next_fire(config, after)
        assert latest_slot(config, fire).at == fire
        assert latest_slot(config, fire - timedelta(seconds=1)).at < fire


def test_trigger_uses_the_site_timezone_not_the_machine_one() -> None:
    config = dataclasses.replace(kyiv_config(), site=SiteConfig(timezone="America/New_York"))
    fire = next_fire(config, datetime(2026, 7, 1, tzinfo=UTC))
    assert fire.utcoffset() == timedelta(hours=-4)
    assert fire.astimezone(ZoneInfo("America/New_York")).hour == 17
