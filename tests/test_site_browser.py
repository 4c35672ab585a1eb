"""The site as a reader sees it: headless Chromium renders the home page and an article."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from tests import browser
from tests.test_feeds import EXPECTED, NOW, repository_site
from tests.test_site import ODESA_PAGE

MIN_INK = 0.02  # share of non-background pixels: text and rules, not an empty page


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish folder of one build of the repository's seeds."""
    site = repository_site(tmp_path_factory.mktemp("browser"))
    assert site.main("build", "--strict", "--now", NOW) == 0
    return site.out


def test_home_page_renders_with_content(out: Path, tmp_path: Path) -> None:
    png = browser.screenshot((out / "index.html").as_uri(), tmp_path / "index.png")
    assert browser.non_blank_fraction(png) > MIN_INK


def test_home_page_shows_every_article_title(out: Path) -> None:
    dom = lxml.html.fromstring(browser.dump_dom((out / "index.html").as_uri()))
    shown = [" ".join(a.text_content().split()) for a in dom.xpath("//main//h2/a")]
    assert shown == [title for _, title in EXPECTED]


def test_article_page_renders_with_content(out: Path, tmp_path: Path) -> None:
    png = browser.screenshot((out / ODESA_PAGE).as_uri(), tmp_path / "article.png")
    assert browser.non_blank_fraction(png) > MIN_INK


def test_article_page_shows_its_title_and_stylesheet(out: Path) -> None:
    dom = lxml.html.fromstring(browser.dump_dom((out / ODESA_PAGE).as_uri()))
    assert dom.xpath("string(//h1)").strip() == EXPECTED[1][1]
    assert dom.xpath("string(//title)").startswith(EXPECTED[1][1])
    (stylesheet,) = dom.xpath("//link[@rel='stylesheet']/@href")
    assert (out / "articles" / stylesheet).resolve().is_file()
