"""Tags and sections: each gets a page and its own RSS, Atom and JSON feed."""

from __future__ import annotations

import json

import feedparser
import pytest

from tests.conftest import Site
from tests.support_web import BASE, FEED_FILES, build, feed_files, make_site, parse_html

TAGS = {"tags/kyiv/": "Київ", "tags/ekonomika/": "Економіка", "tags/zhytomyr/": "Житомир"}
SECTIONS = {"sections/culture/": "culture", "sections/sport/": "sport"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("groups"))
    site.seed("metro.txt", "date 2026-02-10\ntitle Метро\ntags: Київ, Економіка\n\nТекст.\n")
    site.seed("bridge.txt", "date 2026-02-11\ntitle Міст\ntags: київ\n\nТекст.\n")
    site.seed("plain.txt", "date 2026-02-12\ntitle Без тегів\n\nТекст.\n")
    site.seed("culture/fair.txt", "date 2026-02-13\ntitle Ярмарок\ntags: Житомир\n\nКниги.\n")
    site.seed("culture/film.txt", "date 2026-02-14\ntitle Кіно\n\nФільм.\n")
    site.seed("sport/match.txt", "date 2026-02-15\ntitle Матч\ntags: Економіка\n\nГол.\n")
    build(site)
    return site


def _titles(site: Site, feed: str) -> list[str]:
    parsed = feedparser.parse(str(site.out / feed))
    assert parsed.bozo == 0, (feed, parsed.get("bozo_exception"))
    return [e.title for e in parsed.entries]


def test_tag_slugs_are_transliterated_national_standard(built: Site) -> None:
    folders = sorted(p.name for p in (built.out / "tags").iterdir())
    assert folders == ["ekonomika", "kyiv", "zhytomyr"]


def test_tags_differing_in_case_are_one_tag(built: Site) -> None:
    assert _titles(built, "tags/kyiv/rss.xml") == ["Міст", "Метро"]


@pytest.mark.parametrize("folder", [*TAGS, *SECTIONS])
def test_each_group_has_a_page_and_three_feeds(built: Site, folder: str) -> None:
    for name in ("index.html", *FEED_FILES):
        assert (built.out / folder / name).is_file(), folder + name


def test_sub_folders_of_seeds_become_sections(built: Site) -> None:
    assert sorted(p.name for p in (built.out / "sections").iterdir()) == ["culture", "sport"]
    assert _titles(built, "sections/culture/atom.xml") == ["Кіно", "Ярмарок"]


@pytest.mark.parametrize(
    ("folder", "titles"),
    [
        ("tags/ekonomika/", ["Матч", "Метро"]),
        ("tags/zhytomyr/", ["Ярмарок"]),
        ("sections/sport/", ["Матч"]),
    ],
)
def test_group_feeds_hold_only_the_groups_articles(
    built: Site, folder: str, titles: list[str]
) -> None:
    assert _titles(built, folder + "rss.xml") == titles
    assert _titles(built, folder + "atom.xml") == titles
    document = json.loads((built.out / folder / "feed.json").read_text(encoding="utf-8"))
    assert [item["title"] for item in document["items"]] == titles


@pytest.mark.parametrize("folder", [*TAGS, *SECTIONS])
def test_group_feeds_point_home_to_the_group_page(built: Site, folder: str) -> None:
    for name in ("rss.xml", "atom.xml"):
        parsed = feedparser.parse(str(built.out / folder / name))
        assert parsed.feed.link == BASE + folder
        assert any(
            link.rel == "self" and link.href == BASE + folder + name for link in parsed.feed.links
        )
    document = json.loads((built.out / folder / "feed.json").read_text(encoding="utf-8"))
    assert document["home_page_url"] == BASE + folder
    assert document["feed_url"] == BASE + folder + "feed.json"


@pytest.mark.parametrize("folder", [*TAGS, *SECTIONS])
def test_group_page_announces_its_feeds_with_autodiscovery(built: Site, folder: str) -> None:
    page = parse_html(built.out / folder / "index.html")
    found = {
        (str(link.get("type")), str(link.get("href")))
        for link in page.xpath("//head/link[@rel='alternate']")
    }
    assert {
        ("application/rss+xml", BASE + folder + "rss.xml"),
        ("application/atom+xml", BASE + folder + "atom.xml"),
        ("application/feed+json", BASE + folder + "feed.json"),
    } <= found


def test_group_page_lists_the_groups_articles(built: Site) -> None:
    page = parse_html(built.out / "tags/ekonomika/index.html")
    assert page.xpath("//h1")[0].text_content() == "Економіка"
    assert [a.text_content() for a in page.xpath("//main//li/a")] == ["Матч", "Метро"]


def test_article_page_links_each_tag_to_its_page(built: Site) -> None:
    page = parse_html(built.out / "articles/metro.html")
    assert page.xpath("//a[@class='tag']/@href") == ["../tags/kyiv/", "../tags/ekonomika/"]


def test_every_feed_entry_carries_its_tags_as_categories(built: Site) -> None:
    tags = {
        "Метро": ["Київ", "Економіка"],
        "Міст": ["київ"],
        "Ярмарок": ["Житомир"],
        "Матч": ["Економіка"],
        "Кіно": [],
        "Без тегів": [],
    }
    checked = 0
    for path in feed_files(built):
        if path.suffix == ".json":
            items = json.loads(path.read_text(encoding="utf-8"))["items"]
            for item in items:
                assert item.get("tags", []) == tags[item["title"]], path
                checked += 1
            continue
        for entry in feedparser.parse(str(path)).entries:
            assert [t.term for t in entry.get("tags", [])] == tags[entry.title], path
            checked += 1
    assert checked > 30
