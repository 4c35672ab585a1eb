"""The site's language reaches every word it shows (issue 14.6): the default description,
counts in the language's plural forms, and the dates of the feeds' browser view."""

from __future__ import annotations

from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from feeds.config import Config, SiteConfig
from feeds.site.templating import labels, plural
from tests.conftest import SITE_TOML, Site

NO_DESCRIPTION = SITE_TOML.replace('description = "Новини для тестів"\n', "")


def _site(tmp_path: Path, toml: str = NO_DESCRIPTION) -> Site:
    site = Site(tmp_path, toml)
    for day in (1, 2, 3, 4, 5):
        site.seed(f"{day}.txt", f"date 2026-01-0{day}\n\nНовина номер {day} про щось.\n")
    site.seed("f.txt", "date 2026-02-20\n\nОдна лютнева новина.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    return site


def test_default_description_is_in_the_site_language(tmp_path: Path) -> None:
    site = _site(tmp_path)
    page = lxml.html.parse(str(site.out / "index.html"))
    assert page.xpath("string(//p[@class='lede'])") == "Останні статті"
    rss = lxml.etree.parse(str(site.out / "rss.xml"))
    assert rss.xpath("string(/rss/channel/description)") == "Останні статті"
    assert b"Latest articles" not in b"".join(p.read_bytes() for p in site.out.rglob("*.*"))


def test_archive_counts_use_the_language_plural_forms(tmp_path: Path) -> None:
    site = _site(tmp_path)
    page = lxml.html.parse(str(site.out / "archive/index.html"))
    assert page.xpath("//span[@class='count']/text()") == ["1 стаття", "5 статей"]


@pytest.mark.parametrize(
    ("language", "count", "text"),
    [
        ("uk", 1, "1 стаття"),
        ("uk", 3, "3 статті"),
        ("uk", 11, "11 статей"),
        ("uk", 21, "21 стаття"),
        ("en", 1, "1 article"),
        ("en", 2, "2 articles"),
        ("en-US", 0, "0 articles"),
    ],
)
def test_plural_of_articles(language: str, count: int, text: str) -> None:
    config = Config(site=SiteConfig(language=language))
    assert plural(config, labels(config), "articles", count) == text


def test_every_language_in_labels_has_the_plural_forms_it_needs() -> None:
    from babel import Locale

    for language in ("en", "uk"):
        config = Config(site=SiteConfig(language=language))
        words = labels(config)
        forms = Locale.parse(language).plural_form.tags | {"other"}
        assert all(f"articles_{form}" in words for form in forms), language


def test_xsl_view_shows_dates_in_the_page_language(tmp_path: Path) -> None:
    site = _site(tmp_path)
    stylesheet = lxml.etree.XSLT(lxml.etree.parse(str(site.out / "feed.xsl")))
    for feed in ("rss.xml", "atom.xml"):
        view = str(stylesheet(lxml.etree.parse(str(site.out / feed))))
        html = lxml.html.fromstring(view)
        dates = html.xpath("//p[@class='date']/text()")
        assert dates[0] == "20 лютого 2026", (feed, dates)
        assert dates[-1] == "1 січня 2026", (feed, dates)


def test_xsl_view_in_english_writes_the_month_first(tmp_path: Path) -> None:
    toml = NO_DESCRIPTION.replace('language = "uk"', 'language = "en"')
    site = _site(tmp_path, toml)
    stylesheet = lxml.etree.XSLT(lxml.etree.parse(str(site.out / "feed.xsl")))
    view = lxml.html.fromstring(str(stylesheet(lxml.etree.parse(str(site.out / "rss.xml")))))
    assert view.xpath("//p[@class='date']/text()")[0] == "February 20, 2026"
    lede = lxml.html.parse(str(site.out / "index.html")).xpath("string(//p[@class='lede'])")
    assert lede == "Latest articles"
