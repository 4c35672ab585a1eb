"""Nothing from a seed becomes markup (SPEC 3): hostile text stays text in pages and feeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import lxml.etree
import lxml.html
import pytest

from tests.conftest import Site

NOW = "2026-03-01T12:00"
TITLE = '<script>alert(1)</script> "quotes" & ampersands'
AUTHOR = 'Mallory <mallory@example.org> & "friends"'
SUMMARY = '<img src=x onerror=alert(2)> & "summary" &amp; more'
LEAD = 'Lead <script>alert(3)</script> with "quotes" & ampersands &amp; entities.'
QUOTE = '— <em>quoted</em> & said <b onclick="boom()">loudly</b>.'
LINK_LINE = 'Visit https://example.org/?q="><script>alert(4)</script> now.'
HOSTILE = f"""date: 2026-02-20
title: {TITLE}
author: {AUTHOR}
tags: <b>bold</b>, a&b
summary: {SUMMARY}

{LEAD}

{LINK_LINE}

{QUOTE}
"""
MARKUP = "//script | //img | //b | //em | //*[@onerror] | //*[@onclick]"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish folder of a site whose only seed is hostile."""
    site = Site(tmp_path_factory.mktemp("hostile"))
    site.seed("001_hostile.txt", HOSTILE)
    assert site.main("build", "--strict", "--now", NOW) == 0
    return site.out


def article_page(out: Path) -> Any:
    """The hostile article's page, parsed."""
    (path,) = (out / "articles").iterdir()
    return lxml.html.fromstring(path.read_bytes())


def fragment(html: str) -> Any:
    """An HTML fragment as a tree under one <div>."""
    return lxml.html.fragment_fromstring(html, create_parent="div")


def test_no_page_holds_markup_from_the_seed(out: Path) -> None:
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 4
    for path in pages:
        document = lxml.html.fromstring(path.read_bytes())
        assert document.xpath(MARKUP) == [], path


def test_article_page_shows_the_title_as_text(out: Path) -> None:
    document = article_page(out)
    assert document.xpath("string(//h1)").strip() == TITLE
    assert document.findtext("head/title").startswith(TITLE)


def test_article_page_shows_the_body_as_text(out: Path) -> None:
    body = article_page(out).xpath("string(//article)")
    assert LEAD in body
    assert "<em>quoted</em> & said" in body


def test_article_page_meta_description_is_the_summary_as_text(out: Path) -> None:
    (description,) = article_page(out).xpath("//meta[@name='description']/@content")
    assert description == SUMMARY


def test_url_link_stops_before_a_quote_and_the_rest_stays_text(out: Path) -> None:
    document = article_page(out)
    (link,) = document.xpath("//article//a[starts-with(@href, 'https://example.org/')]")
    assert link.get("href") == "https://example.org/?q="
    assert link.getparent().text_content() == LINK_LINE


def test_index_teaser_shows_the_title_as_text(out: Path) -> None:
    document = lxml.html.fromstring((out / "index.html").read_bytes())
    assert document.xpath("string(//main//h2)").strip() == TITLE


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feed_title_author_and_tags_read_back_as_text(out: Path, name: str) -> None:
    feed = feedparser.parse((out / name).read_bytes())
    assert feed.bozo == 0
    (entry,) = feed.entries
    assert entry.title == TITLE
    assert entry.author == AUTHOR
    assert [tag.term for tag in entry.tags] == ["<b>bold</b>", "a&b"]


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feed_summary_is_html_that_shows_the_summary_text(out: Path, name: str) -> None:
    # RSS <description> is HTML in every reader: the text must arrive escaped.
    (entry,) = feedparser.parse((out / name).read_bytes()).entries
    shown = fragment(entry.summary)
    assert shown.xpath(MARKUP) == []
    assert shown.text_content() == SUMMARY


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feed_content_is_html_that_shows_the_text(out: Path, name: str) -> None:
    (entry,) = feedparser.parse((out / name).read_bytes()).entries
    shown = fragment(entry.content[0].value)
    assert shown.xpath(MARKUP) == []
    text = shown.text_content()
    assert LEAD in text
    assert LINK_LINE in text


def test_raw_rss_description_is_escaped_html(out: Path) -> None:
    # Read without feedparser's sanitizer: one XML unescape gives HTML, which must hold no tag.
    item = lxml.etree.parse(str(out / "rss.xml")).find("channel/item")
    html = item.findtext("description")
    assert "<" not in html
    assert fragment(html).text_content() == SUMMARY


def test_json_feed_keeps_plain_fields_plain_and_html_escaped(out: Path) -> None:
    (item,) = json.loads((out / "feed.json").read_text(encoding="utf-8"))["items"]
    assert item["title"] == TITLE
    assert item["summary"] == SUMMARY
    assert item["authors"] == [{"name": AUTHOR}]
    shown = fragment(item["content_html"])
    assert shown.xpath(MARKUP) == []
    assert LEAD in shown.text_content()
