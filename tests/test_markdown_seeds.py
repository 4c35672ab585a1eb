"""`.md` seeds are Markdown (SPEC 2a): rendering, front matter, errors, layouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.errors import SeedError
from feeds.model import Article, section_of
from feeds.read.layouts import article_id
from feeds.read.md_reader import parse_markdown
from feeds.site.content import blocks_to_html
from tests.hypothesis_profiles import PROPERTY

KYIV = ZoneInfo("Europe/Kyiv")
SITE = "https://news.example.org/"


def read(text: str, source: str = "post.md") -> Article:
    return parse_markdown(source, article_id(source), text, KYIV, SITE)


def body(article: Article) -> str:
    return str(blocks_to_html(article.blocks))


def test_issue_examples_render_as_markdown() -> None:
    article = read("date: 2026-02-20\n\n**bold** [link](https://x.example/)\n\n- one\n- two\n")
    html = body(article)
    assert "<strong>bold</strong>" in html
    assert '<a href="https://x.example/">link</a>' in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "blockquote" not in html and "**" not in html


def test_gfm_extensions_tables_strikethrough_autolinks_tasks_footnotes() -> None:
    text = (
        "date: 2026-02-20\n\n| a |\n|---|\n| 1 |\n\n~~no~~ www.example.com\n\n"
        "- [x] done\n\nA[^n]\n\n[^n]: note\n"
    )
    html = body(read(text))
    assert "<table>" in html and "<del>no</del>" in html
    assert '<a href="http://www.example.com">' in html
    assert 'type="checkbox"' in html and 'class="footnotes"' in html


def test_leading_h1_is_the_title_and_other_headings_shift_below_it() -> None:
    article = read("---\ndate: 2026-02-20\n---\n# The title\n\nText.\n\n# Part\n\n## Sub\n")
    assert article.title == "The title"
    html = body(article)
    assert "<h1>" not in html and "The title" not in html
    assert "<h2>Part</h2>" in html and "<h3>Sub</h3>" in html


def test_summary_is_the_first_paragraph_as_plain_text() -> None:
    article = read("title: T\ndate: 2026-02-20\n\n## Head\n\nFirst *para* [x](y).\n\nSecond.\n")
    assert article.summary == "First para x."


def test_relative_links_become_absolute_and_images_go_to_media() -> None:
    article = read("title: T\ndate: 2026-02-20\n\n[a](other.html) ![p](img/photo.jpg)\n", "s/p.md")
    html = body(article)
    assert 'href="https://news.example.org/other.html"' in html
    assert 'src="https://news.example.org/media/p/photo.jpg"' in html
    assert article.media == ("img/photo.jpg",)
    assert article.image == "img/photo.jpg"  # the first image, when there is no image key


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "2026-02-20T09:30:00+02:00",
            datetime(2026, 2, 20, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (
            "2026-02-20 09:30:00 +0200",
            datetime(2026, 2, 20, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-02-20", datetime(2026, 2, 20, tzinfo=KYIV)),
        ('"2026-02-20T07:30:00Z"', datetime(2026, 2, 20, 7, 30, tzinfo=UTC)),
    ],
)
def test_front_matter_dates_the_tools_write(written: str, expected: datetime) -> None:
    article = read(f"---\ntitle: T\ndate: {written}\n---\nText.\n")
    assert article.date == expected


def test_toml_front_matter_with_aliases() -> None:
    text = (
        '+++\ntitle = "T"\ndate = 2026-02-20T09:30:00+02:00\nlastmod = 2026-02-21\n'
        'categories = ["a"]\nkeywords = ["b"]\ndescription = "D"\nauthors = ["X", "Y"]\n'
        'images = ["one.jpg", "two.jpg"]\nlang = "en"\ndraft = true\n+++\nText.\n'
    )
    article = read(text)
    assert article.tags == ("a", "b")
    assert (article.summary, article.author, article.image, article.lang) == (
        "D",
        "X, Y",
        "one.jpg",
        "en",
    )
    assert article.draft and article.updated == datetime(2026, 2, 21, tzinfo=KYIV)


def test_published_false_and_pelican_status_draft_are_drafts() -> None:
    assert read("---\ntitle: T\ndate: 2026-02-20\npublished: false\n---\nx\n").draft
    assert read("Title: T\nDate: 2026-02-20\nStatus: draft\n\nx\n").draft


def test_unknown_keys_never_show_in_the_body() -> None:
    article = read("Title: T\nDate: 2026-02-20\nSeries: S\nLayout: post\n\nBody.\n")
    assert body(article) == "<p>Body.</p>"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("---\ntitle: T\ndate: [2026\n---\nx\n", "front matter line 3: "),
        ("---\ntitle: T\n  bad: indent\n---\nx\n", "front matter line 3: "),
        ("+++\ntitle = \n+++\nx\n", "front matter line 2: "),
        ("---\ntitle: T\n", "front matter line 1: no closing --- line"),
        ("---\n- a list\n---\nx\n", "front matter line 2: expected `key: value` lines"),
    ],
)
def test_malformed_front_matter_names_the_line(text: str, reason: str) -> None:
    with pytest.raises(SeedError) as caught:
        read(text)
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_yaml_is_parsed_safely_without_object_construction() -> None:
    text = "---\ntitle: !!python/object/apply:os.system ['true']\ndate: 2026-02-20\n---\nx\n"
    with pytest.raises(SeedError, match="front matter line 2"):
        read(text)


def test_hugo_page_bundle_and_jekyll_post_names() -> None:
    assert article_id("posts/my-trip/index.md") == "my-trip"
    assert section_of("posts/my-trip/index.md") == "posts"
    assert section_of("blog/_posts/2026-02-20-x.md") == "blog"
    post = read("---\ntitle: T\n---\nx\n", "_posts/2026-02-20-my-trip.md")
    assert post.date == datetime(2026, 2, 20, tzinfo=KYIV) and post.slug_hint == "my-trip"


def test_a_md_file_without_a_date_is_refused_with_a_hint() -> None:
    with pytest.raises(SeedError, match="no date"):
        read("---\ntitle: About\n---\nx\n")


@PROPERTY
@given(st.text(max_size=300))
def test_any_markdown_body_reads_or_is_refused_with_a_reason(text: str) -> None:
    try:
        article = read("---\ntitle: T\ndate: 2026-02-20\n---\n" + text)
    except SeedError as exc:
        assert exc.reason
        return
    assert "<script" not in body(article).lower()
