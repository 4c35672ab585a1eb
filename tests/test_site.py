"""The static site of the repository's seeds (SPEC 3): complete pages, discovery, archive, dates."""

from __future__ import annotations

import posixpath
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest
from babel.dates import format_date, format_time

from tests.conftest import SITE_TOML, Site
from tests.test_feeds import EXPECTED, NOW, REPO_SEEDS, repository_site

BASE = "https://news.example.org/"
SHARED_PAGE = "articles/ukraina-proponuie-yaponii-zapochatkuvaty-oboronne-partnerstvo.html"
ODESA_PAGE = "articles/porty-velykoi-odesy-u-sichni-obrobyly-91-mln-tonn-vantazhiv.html"
KHARKIV_PAGE = "articles/kharkivski-shkoly-rozshyriuiut-ochne-navchannia-v-ukryttiakh.html"
WIND_PAGE = (
    "articles/a-wind-farm-in-the-mykolaiv-region-is-back-at-full-capacity-after-four-months-of.html"
)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish folder of one build of the repository's seeds."""
    site = repository_site(tmp_path_factory.mktemp("site"))
    assert site.main("build", "--strict", "--now", NOW) == 0
    return site.out


def page(out: Path, rel: str) -> Any:
    """A published HTML page, parsed."""
    return lxml.html.fromstring((out / rel).read_bytes())


def local_links(out: Path, rel: str) -> set[str]:
    """Publish-folder paths that the page at rel links to (relative or on the site's host)."""
    found: set[str] = set()
    for href in page(out, rel).xpath("//a/@href | //link/@href"):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            if not href.startswith(BASE):
                continue
            target = href.removeprefix(BASE)
        else:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), parts.path))
            target = "" if target == "." else target
        if target == "" or href.endswith("/"):
            target = posixpath.join(target, "index.html")
        found.add(target.split("#")[0])
    return found


def html_pages(out: Path) -> list[str]:
    """Every HTML page of the publish folder."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))


# Every page ------------------------------------------------------------------------------------


def test_every_html_page_is_a_complete_document(out: Path) -> None:
    pages = html_pages(out)
    assert len(pages) > len(EXPECTED)
    for rel in pages:
        text = (out / rel).read_text(encoding="utf-8")
        assert text.lower().startswith("<!doctype html>"), rel
        assert text.rstrip().endswith("</html>"), rel
        document = lxml.html.fromstring(text.encode())
        assert document.find("head/title") is not None, rel
        assert document.find("body") is not None, rel


def test_every_html_page_has_a_lang_attribute(out: Path) -> None:
    for rel in html_pages(out):
        assert page(out, rel).get("lang") == "uk", rel


def test_every_local_link_points_to_a_published_file(out: Path) -> None:
    for rel in html_pages(out):
        for target in local_links(out, rel):
            assert (out / target).is_file(), f"{rel} links to missing {target}"


# Index and archive -------------------------------------------------------------------------------


def test_index_links_all_three_feeds_for_autodiscovery(out: Path) -> None:
    document = page(out, "index.html")
    alternates = {
        link.get("type"): link.get("href")
        for link in document.xpath("//head/link[@rel='alternate']")
    }
    assert alternates == {
        "application/rss+xml": BASE + "rss.xml",
        "application/atom+xml": BASE + "atom.xml",
        "application/feed+json": BASE + "feed.json",
    }


def test_index_lists_the_newest_articles_first(out: Path) -> None:
    titles = [t.strip() for t in page(out, "index.html").xpath("//main//h2/a/text()")]
    assert titles == [title for _, title in EXPECTED]


def test_archive_reaches_every_article_from_the_index(out: Path) -> None:
    seen: set[str] = set()
    queue = ["index.html"]
    while queue:
        rel = queue.pop()
        if rel in seen or not rel.endswith(".html") or not (out / rel).is_file():
            continue
        seen.add(rel)
        # Walk the home page and archive pages only: every article must be reached from them.
        if rel == "index.html" or rel.startswith("archive/"):
            queue.extend(local_links(out, rel))
    articles = {str(p.relative_to(out)) for p in (out / "articles").iterdir()}
    assert len(articles) == len(EXPECTED)
    assert articles <= seen


def test_articles_folder_holds_only_one_page_per_article(out: Path) -> None:
    names = sorted(p.name for p in (out / "articles").iterdir())
    assert len(names) == len(EXPECTED)
    assert all(name.endswith(".html") for name in names)


def test_archive_reaches_articles_beyond_the_home_page(make_site: Any) -> None:
    site: Site = make_site(SITE_TOML + "\n[feed]\npage_size = 2\n")
    for path in sorted(REPO_SEEDS.iterdir()):
        site.seed(path.name, path.read_bytes())
    site.main("build", "--now", NOW)
    home = local_links(site.out, "index.html")
    assert len([t for t in home if t.startswith("articles/")]) == 2
    seen: set[str] = set()
    queue = ["index.html"]
    while queue:
        rel = queue.pop()
        if rel in seen or not (site.out / rel).is_file():
            continue
        seen.add(rel)
        if rel == "index.html" or rel.startswith("archive/"):
            queue.extend(local_links(site.out, rel))
    assert len([t for t in seen if t.startswith("articles/")]) == len(EXPECTED)


# Article pages ---------------------------------------------------------------------------------


def test_article_page_shows_the_title_as_heading(out: Path) -> None:
    document = page(out, SHARED_PAGE)
    assert document.xpath("string(//h1)").strip() == EXPECTED[0][1]
    assert document.findtext("head/title").startswith(EXPECTED[0][1])


def test_article_date_is_localized(out: Path) -> None:
    document = page(out, SHARED_PAGE)
    (shown,) = document.xpath("//article//time")
    assert shown.text_content() == format_date(date(2026, 2, 20), "long", locale="uk")
    assert shown.get("datetime") == "2026-02-20T00:00:00+02:00"


def test_article_time_of_day_is_shown_when_set(out: Path) -> None:
    (shown,) = page(out, ODESA_PAGE).xpath("//article//time")
    day = format_date(date(2026, 2, 18), "long", locale="uk")
    assert shown.text_content() == f"{day}, {format_time(time(9, 30), 'short', locale='uk')}"


def test_english_site_gets_english_dates(make_site: Any) -> None:
    site: Site = make_site(SITE_TOML.replace('language = "uk"', 'language = "en"'))
    site.seed("001_a.txt", "date 2026-02-20\n\nSomething happened today, sources said.")
    site.main("build", "--now", NOW)
    document = page(site.out, "articles/something-happened-today.html")
    assert document.get("lang") == "en"
    expected = format_date(date(2026, 2, 20), "long", locale="en")
    assert document.xpath("string(//article//time)").strip() == expected


def test_article_in_another_language_is_marked(out: Path) -> None:
    assert page(out, WIND_PAGE).xpath("//*[@lang='en']//h1")


def test_article_links_to_the_older_and_newer_article(out: Path) -> None:
    links = local_links(out, ODESA_PAGE)
    assert SHARED_PAGE in links  # newer
    assert KHARKIV_PAGE in links  # older


def test_newest_article_links_only_to_the_older_one(out: Path) -> None:
    document = page(out, SHARED_PAGE)
    pager = {a.get("rel"): a.get("href") for a in document.xpath("//a[@rel='prev' or @rel='next']")}
    assert list(pager) == ["prev"]
    assert pager["prev"] == posixpath.basename(ODESA_PAGE)


def test_oldest_article_links_only_to_the_newer_one(out: Path) -> None:
    oldest = "articles/lvivskyi-knyzhkovyi-forum-oholosyv-daty-vesnianoho-yarmarku.html"
    document = page(out, oldest)
    pager = {a.get("rel"): a.get("href") for a in document.xpath("//a[@rel='prev' or @rel='next']")}
    assert list(pager) == ["next"]
    assert pager["next"] == "kyivske-metro-pratsiuvatyme-dovshe-u-vykhidni.html"


def test_article_body_has_subheading_and_quotation(out: Path) -> None:
    document = page(out, ODESA_PAGE)
    assert document.xpath("string(//article//h2)") == "Що очікують у лютому"
    quote = document.xpath("string(//article//blockquote)").strip()
    assert quote.startswith("— Ми розраховуємо")


def test_markdown_heading_becomes_a_subheading(out: Path) -> None:
    assert page(out, KHARKIV_PAGE).xpath("string(//article//h2)") == "Як працюватимуть уроки"


def test_url_in_text_is_a_link_on_the_page(out: Path) -> None:
    url = "https://example.org/news/2026/wind-farm-repairs?lang=en&page=1"
    (link,) = page(out, WIND_PAGE).xpath(f"//article//a[@href='{url}']")
    assert link.text == url


def test_article_page_has_an_absolute_canonical_url(out: Path) -> None:
    (canonical,) = page(out, SHARED_PAGE).xpath("//link[@rel='canonical']/@href")
    assert canonical == BASE + SHARED_PAGE


def test_draft_has_no_page(out: Path) -> None:
    for rel in html_pages(out):
        assert "Графік планових відключень" not in (out / rel).read_text(encoding="utf-8")
