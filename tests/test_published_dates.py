"""Every published date is valid RFC 3339 / RFC 822 with a whole-minute offset (issue 13.10).

Before standard time, zones kept local mean time (Kyiv +02:02:04): a date then, in such a
zone, used to be published with an offset in seconds, which neither format can write.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import feedparser
import lxml.etree
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.config import Config, SiteConfig
from feeds.model import Article, Block
from feeds.read.corpus import entries_for, meta_of
from feeds.read.dates import FIRST_YEAR, LAST_YEAR, DateError, parse_date, site_time
from feeds.site.discovery import sitemap
from feeds.site.syndication import ArchiveLinks, Channel, Syndication
from tests.hypothesis_profiles import PROPERTY

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
RFC822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)
ZONES = sorted(available_timezones())
CHANNEL = Channel("Site", "News", "", "", "feed")


def feeds_for(zone: str, when: datetime) -> tuple[bytes, bytes, bytes, bytes]:
    """rss.xml, atom.xml, feed.json and a sitemap for one article at `when` in `zone`."""
    config = Config(site=SiteConfig(timezone=zone))
    article = Article("a", "a.txt", when, "Title", "Summary", (Block("p", "Text"),))
    entries, _ = entries_for([meta_of(article, "a", config.site.tz)], {}, {"a.txt": article}, None)
    feeds = Syndication(config, {}, "fingerprint", lambda a: a.blocks)
    return (
        feeds.rss(CHANNEL, entries, ArchiveLinks()),
        feeds.atom(CHANNEL, "atom.xml", entries, ArchiveLinks()),
        feeds.json_feed(CHANNEL, entries),
        sitemap(config, [("articles/a.html", when)]),
    )


def test_local_mean_time_offset_is_published_in_whole_minutes() -> None:
    when = parse_date("1910-05-01", ZoneInfo("Europe/Kyiv"))  # Kyiv kept +02:02:04 until 1924
    _rss, atom, feed, _ = feeds_for("Europe/Kyiv", when)
    published = json.loads(feed)["items"][0]["date_published"]
    assert published == "1910-05-01T00:00:56+02:03"  # the same instant; midnight stays on its day
    assert b"+02:02:04" not in atom


@settings(PROPERTY, max_examples=60)
@given(
    zone=st.sampled_from(ZONES),
    when=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.just(UTC)
    ),
)
def test_every_published_date_is_rfc_valid_with_whole_minutes(zone: str, when: datetime) -> None:
    when = when.replace(microsecond=0)
    rss, atom, feed, urls = feeds_for(zone, when)
    rss_dates = lxml.etree.fromstring(rss).xpath("//pubDate/text() | //lastBuildDate/text()")
    atom_dates = lxml.etree.fromstring(atom).xpath(
        "//*[local-name()='published' or local-name()='updated']/text()"
    )
    items = json.loads(feed)["items"]
    iso_dates = [
        *atom_dates,
        items[0]["date_published"],
        *lxml.etree.fromstring(urls).xpath("//*[local-name()='lastmod']/text()"),
    ]
    assert rss_dates and all(RFC822.fullmatch(d) for d in rss_dates), rss_dates
    assert all(RFC3339.fullmatch(d) for d in iso_dates), iso_dates
    for document in (rss, atom):
        parsed = feedparser.parse(document)
        assert not parsed.bozo, parsed.bozo_exception
        assert calendar.timegm(parsed.entries[0].published_parsed) == int(when.timestamp())


@settings(PROPERTY, max_examples=100)
@given(zone=st.sampled_from(ZONES), year=st.integers(1000, 2999), month=st.integers(1, 12))
def test_a_seed_date_is_read_only_inside_the_published_years(
    zone: str, year: int, month: int
) -> None:
    tz = ZoneInfo(zone)
    text = f"{year:04d}-{month:02d}-01T00:00+14:00"
    try:
        when = parse_date(text, tz)
    except DateError:
        local = datetime.fromisoformat(text).astimezone(tz)
        assert not FIRST_YEAR <= local.year <= LAST_YEAR or local.year in (1899, 3000)
        return
    assert FIRST_YEAR <= site_time(when, tz).year <= LAST_YEAR
