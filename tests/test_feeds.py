"""RSS, Atom and JSON Feed of the repository's seeds, read by real consumers (SPEC 3)."""

from __future__ import annotations

import email.utils
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests.conftest import Site

NOW = "2026-03-01T12:00"
BASE = "https://news.example.org/"
REPO_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ATOM_RNG = Path(__file__).resolve().parent / "fixtures" / "atom.rng"
NS = {"atom": "http://www.w3.org/2005/Atom", "content": "http://purl.org/rss/1.0/modules/content/"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# The repository's published seeds, newest first, as read from seeds/ (005 is a draft).
EXPECTED = [
    ("000_91005bd04970e0af", "Україна пропонує Японії започаткувати оборонне партнерство"),
    ("004_odesa_ports_january", "Порти Великої Одеси у січні обробили 9,1 млн тонн вантажів"),
    ("006_kharkiv_schools", "Харківські школи розширюють очне навчання в укриттях"),
    (
        "003_wind_farm_repairs",
        "A wind farm in the Mykolaiv region is back at full capacity after four months of repairs",
    ),
    ("001_kyiv_metro_hours", "Київське метро працюватиме довше у вихідні"),
    ("002_lviv_book_fair", "Львівський книжковий форум оголосив дати весняного ярмарку"),
]
EXPECTED_IDS = [f"tag:news.example.org,2026:{stem}" for stem, _ in EXPECTED]
EXPECTED_TITLES = [title for _, title in EXPECTED]
NEWEST = datetime.fromisoformat("2026-02-20T00:00:00+02:00")


def repository_site(root: Path) -> Site:
    """A site folder (the shared test feeds.toml) holding a copy of the repository's seeds."""
    site = Site(root)
    for path in sorted(REPO_SEEDS.iterdir()):
        site.seed(path.name, path.read_bytes())
    return site


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish folder of one build of the repository's seeds."""
    site = repository_site(tmp_path_factory.mktemp("repo"))
    assert site.main("build", "--strict", "--now", NOW) == 0
    return site.out


def parsed(out: Path, name: str) -> Any:
    """feedparser's reading of a feed file."""
    return feedparser.parse((out / name).read_bytes())


def xml(out: Path, name: str) -> Any:
    """A feed file as an lxml tree."""
    return lxml.etree.parse(str(out / name))


def json_feed(out: Path) -> dict[str, Any]:
    """feed.json as data."""
    data: dict[str, Any] = json.loads((out / "feed.json").read_text(encoding="utf-8"))
    return data


# feedparser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feedparser_reads_the_feed_cleanly(out: Path, name: str) -> None:
    feed = parsed(out, name)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == {"rss.xml": "rss20", "atom.xml": "atom10"}[name]


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feedparser_sees_every_published_article_newest_first(out: Path, name: str) -> None:
    feed = parsed(out, name)
    assert [e.title for e in feed.entries] == EXPECTED_TITLES
    assert [e.id for e in feed.entries] == EXPECTED_IDS


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feedparser_entry_links_are_the_article_pages(out: Path, name: str) -> None:
    links = [e.link for e in parsed(out, name).entries]
    assert all(link.startswith(BASE + "articles/") and link.endswith(".html") for link in links)
    for link in links:
        assert (out / link.removeprefix(BASE)).is_file()


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feedparser_dates_match_the_seeds(out: Path, name: str) -> None:
    entries = parsed(out, name).entries
    # 004 is dated 2026-02-18 09:30+02:00, i.e. 07:30 UTC.
    assert tuple(entries[1].published_parsed)[:6] == (2026, 2, 18, 7, 30, 0)
    assert tuple(entries[0].published_parsed)[:6] == (2026, 2, 19, 22, 0, 0)


def test_feedparser_reads_full_content_with_the_subheading(out: Path) -> None:
    entry = parsed(out, "atom.xml").entries[1]
    html = entry.content[0].value
    assert "<h2>Що очікують у лютому</h2>" in html
    assert "<blockquote>" in html


# Atom ------------------------------------------------------------------------------------------


def test_atom_is_valid_against_the_rfc_4287_schema(out: Path) -> None:
    schema = lxml.etree.RelaxNG(lxml.etree.parse(str(ATOM_RNG)))
    document = xml(out, "atom.xml")
    assert schema.validate(document), schema.error_log


def test_atom_schema_rejects_an_entry_without_an_id(out: Path) -> None:
    schema = lxml.etree.RelaxNG(lxml.etree.parse(str(ATOM_RNG)))
    document = xml(out, "atom.xml")
    entry_id = document.find("atom:entry/atom:id", NS)
    entry_id.getparent().remove(entry_id)
    assert not schema.validate(document)


def test_atom_entries_have_alternate_links_to_their_pages(out: Path) -> None:
    document = xml(out, "atom.xml")
    for entry in document.findall("atom:entry", NS):
        links = entry.findall("atom:link", NS)
        alternates = [link for link in links if link.get("rel") == "alternate"]
        assert len(alternates) == 1
        assert alternates[0].get("href").startswith(BASE + "articles/")
        assert alternates[0].get("type") == "text/html"


def test_atom_every_entry_has_an_author_or_the_feed_has_one(out: Path) -> None:
    # RFC 4287's Schematron rule, which RELAX NG alone does not check.
    document = xml(out, "atom.xml")
    assert document.xpath("boolean(atom:author/atom:name)", namespaces=NS) or all(
        entry.find("atom:author", NS) is not None for entry in document.findall("atom:entry", NS)
    )


def test_atom_feed_links_self_and_home_page(out: Path) -> None:
    document = xml(out, "atom.xml")
    links = {link.get("rel"): link.get("href") for link in document.findall("atom:link", NS)}
    assert links["self"] == BASE + "atom.xml"
    assert links["alternate"] == BASE


def test_atom_ids_are_tag_uris_from_the_file_stems(out: Path) -> None:
    document = xml(out, "atom.xml")
    assert document.xpath("atom:entry/atom:id/text()", namespaces=NS) == EXPECTED_IDS
    assert document.findtext("atom:id", namespaces=NS).startswith("tag:news.example.org,2026:")


def test_atom_updated_is_the_newest_article_date(out: Path) -> None:
    updated = xml(out, "atom.xml").findtext("atom:updated", namespaces=NS)
    assert datetime.fromisoformat(updated) == NEWEST


def test_atom_dates_carry_an_offset(out: Path) -> None:
    document = xml(out, "atom.xml")
    stamps = document.xpath("//atom:updated/text() | //atom:published/text()", namespaces=NS)
    assert len(stamps) == 1 + 2 * len(EXPECTED)
    assert all(RFC3339.match(stamp) for stamp in stamps), stamps


def test_atom_entries_are_newest_first(out: Path) -> None:
    document = xml(out, "atom.xml")
    stamps = [
        datetime.fromisoformat(s)
        for s in document.xpath("atom:entry/atom:published/text()", namespaces=NS)
    ]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] == NEWEST


# RSS -------------------------------------------------------------------------------------------


def test_rss_channel_has_title_link_and_description(out: Path) -> None:
    channel = xml(out, "rss.xml").find("channel")
    assert channel.findtext("title") == "Тестові новини"
    assert channel.findtext("description") == "Новини для тестів"
    assert channel.findtext("link") == BASE


def test_rss_channel_link_is_the_home_page_not_the_self_link(out: Path) -> None:
    channel = xml(out, "rss.xml").find("channel")
    links = channel.findall("link")
    assert [link.text for link in links] == [BASE]


def test_rss_has_an_atom_self_link(out: Path) -> None:
    channel = xml(out, "rss.xml").find("channel")
    (self_link,) = channel.findall("atom:link[@rel='self']", NS)
    assert self_link.get("href") == BASE + "rss.xml"
    assert self_link.get("type") == "application/rss+xml"


def test_rss_guids_are_tag_uris_marked_not_permalinks(out: Path) -> None:
    guids = xml(out, "rss.xml").findall("channel/item/guid")
    assert [g.text for g in guids] == EXPECTED_IDS
    assert {g.get("isPermaLink") for g in guids} == {"false"}


def test_rss_has_the_site_language(out: Path) -> None:
    assert xml(out, "rss.xml").findtext("channel/language") == "uk"


def test_rss_dates_are_rfc_822_with_a_numeric_zone(out: Path) -> None:
    channel = xml(out, "rss.xml").find("channel")
    stamps = [channel.findtext("lastBuildDate"), *channel.xpath("item/pubDate/text()")]
    assert len(stamps) == 1 + len(EXPECTED)
    for stamp in stamps:
        when = email.utils.parsedate_to_datetime(stamp)
        assert when.utcoffset() is not None
        assert re.search(r" [+-]\d{4}$", stamp), stamp


def test_rss_last_build_date_is_the_newest_article_not_now(out: Path) -> None:
    channel = xml(out, "rss.xml").find("channel")
    assert email.utils.parsedate_to_datetime(channel.findtext("lastBuildDate")) == NEWEST


def test_rss_items_are_newest_first(out: Path) -> None:
    stamps = [
        email.utils.parsedate_to_datetime(s)
        for s in xml(out, "rss.xml").xpath("channel/item/pubDate/text()")
    ]
    assert stamps == sorted(stamps, reverse=True)


def test_rss_items_carry_full_content(out: Path) -> None:
    item = xml(out, "rss.xml").find("channel/item")
    content = item.findtext("content:encoded", namespaces=NS)
    assert content.startswith("<p>Україна пропонує Японії")
    assert "<h2>Оборонна співпраця України та Японії: що відомо</h2>" in content


# JSON Feed -------------------------------------------------------------------------------------


def test_json_feed_has_the_required_top_level_fields(out: Path) -> None:
    feed = json_feed(out)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Тестові новини"
    assert feed["home_page_url"] == BASE
    assert feed["feed_url"] == BASE + "feed.json"
    assert isinstance(feed["items"], list)


def test_json_feed_items_have_ids_and_content(out: Path) -> None:
    items = json_feed(out)["items"]
    assert [item["id"] for item in items] == EXPECTED_IDS
    assert [item["title"] for item in items] == EXPECTED_TITLES
    for item in items:
        assert isinstance(item["id"], str)
        assert item.get("content_html") or item.get("content_text")
        assert item["url"].startswith(BASE + "articles/")


def test_json_feed_dates_are_rfc_3339_with_offset(out: Path) -> None:
    items = json_feed(out)["items"]
    for item in items:
        assert RFC3339.match(item["date_published"]), item["date_published"]
    assert datetime.fromisoformat(items[0]["date_published"]) == NEWEST


def test_json_feed_authors_are_objects_with_names(out: Path) -> None:
    feed = json_feed(out)
    for holder in [feed, *feed["items"]]:
        authors = holder.get("authors", [])
        assert all(isinstance(a, dict) and a.get("name") for a in authors)
    by_id = {item["id"]: item for item in feed["items"]}
    metro = by_id["tag:news.example.org,2026:001_kyiv_metro_hours"]
    assert metro["authors"] == [{"name": "Олена Коваль"}]
    assert metro["tags"] == ["Київ", "транспорт"]
    assert metro["summary"] == "З п'ятниці станції зачинятимуться о першій ночі, а не опівночі."


def test_json_feed_marks_the_english_article_language(out: Path) -> None:
    by_id = {item["id"]: item for item in json_feed(out)["items"]}
    assert by_id["tag:news.example.org,2026:003_wind_farm_repairs"].get("language") == "en"


def test_url_in_text_becomes_an_escaped_link_in_the_feed(out: Path) -> None:
    by_id = {item["id"]: item for item in json_feed(out)["items"]}
    html = by_id["tag:news.example.org,2026:003_wind_farm_repairs"]["content_html"]
    url = "https://example.org/news/2026/wind-farm-repairs?lang=en&amp;page=1"
    assert f'<a href="{url}">{url}</a>.' in html


# Limits and edge cases -------------------------------------------------------------------------


def test_feeds_hold_only_the_newest_max_items(make_site: Any) -> None:
    from tests.conftest import SITE_TOML

    site: Site = make_site(SITE_TOML + "\n[feed]\nmax_items = 2\n")
    for path in sorted(REPO_SEEDS.iterdir()):
        site.seed(path.name, path.read_bytes())
    site.main("build", "--now", NOW)
    assert [e.id for e in parsed(site.out, "rss.xml").entries] == EXPECTED_IDS[:2]
    assert [e.id for e in parsed(site.out, "atom.xml").entries] == EXPECTED_IDS[:2]
    assert [i["id"] for i in json_feed(site.out)["items"]] == EXPECTED_IDS[:2]


def test_feed_dates_do_not_depend_on_the_build_clock(tmp_path: Path) -> None:
    early = repository_site(tmp_path / "early")
    late = repository_site(tmp_path / "late")
    early.main("build", "--now", NOW)
    late.main("build", "--now", "2026-09-01T00:00")
    for name in ("rss.xml", "atom.xml", "feed.json"):
        assert (early.out / name).read_bytes() == (late.out / name).read_bytes()


def test_empty_site_still_gives_valid_feeds(site: Site) -> None:
    assert site.main("build", "--now", NOW) == 0
    schema = lxml.etree.RelaxNG(lxml.etree.parse(str(ATOM_RNG)))
    assert schema.validate(xml(site.out, "atom.xml")), schema.error_log
    assert parsed(site.out, "rss.xml").bozo == 0
    assert json_feed(site.out)["items"] == []


def test_newest_article_added_later_goes_first(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    site.main("build", "--now", NOW)
    site.seed("007_newest.txt", "date 2026-02-28\n\nНайновіша стаття місяця, додана останньою.")
    site.main("build", "--now", NOW)
    ids = [e.id for e in parsed(site.out, "rss.xml").entries]
    assert ids == ["tag:news.example.org,2026:007_newest", *EXPECTED_IDS]
    updated = xml(site.out, "atom.xml").findtext("atom:updated", namespaces=NS)
    assert updated == "2026-02-28T00:00:00+02:00"


def test_article_dated_between_others_is_placed_by_date(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    site.main("build", "--now", NOW)
    site.seed("007_middle.txt", "date 2026-02-15\n\nСтаття із серединки місяця, додана пізніше.")
    site.main("build", "--now", NOW)
    ids = [e.id for e in parsed(site.out, "atom.xml").entries]
    assert ids.index("tag:news.example.org,2026:007_middle") == 4


def test_content_html_parses_as_a_fragment(out: Path) -> None:
    for item in json_feed(out)["items"]:
        fragment = lxml.html.fragment_fromstring(item["content_html"], create_parent="div")
        assert fragment.text_content().strip()
