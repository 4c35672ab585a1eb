"""Seeds that would stall a build (issue 13.4, SPEC 6): capped, reported, and read in
linear time.

The caps (seeds.max_tags, max_title, max_summary) cut what exceeds them; the article is
published and the cut is one `SEEDS/NAME: reason` line that `check` and `--strict`
count. Every other path over seed text must cost time linear in its size: the timing
test builds hostile seeds of two sizes and compares the cost of reading and rendering one.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.errors import SeedError
from feeds.read.corpus import base_slug
from feeds.read.reader import Limits, parse
from feeds.site.content import blocks_to_html, linkify
from tests.conftest import Site
from tests.hypothesis_profiles import PROPERTY

NOW = "2026-03-01T12:00"
HEAD = "date 2026-02-20\n\n"
SIZE = 200_000  # characters of the smaller hostile seed; the bigger one is twice that
FLOOR = 0.005  # seconds: below this, timings on a shared machine are noise


def _lines(n: int, line: str) -> str:
    return line * (n // len(line))


# Each makes a seed of about n characters shaped to hit one path over seed text.
HOSTILE: dict[str, Callable[[int], str]] = {
    "url then closing parentheses": lambda n: HEAD + "See http://x.org/a" + ")" * n,
    "url then opening parentheses": lambda n: HEAD + "See http://x.org/a" + "(" * n,
    "url then dots": lambda n: HEAD + "See http://x.org/a" + "." * n,
    "brackets": lambda n: HEAD + "[" * n,
    "scheme runs": lambda n: HEAD + _lines(n, "http://"),
    "scheme runs spaced": lambda n: HEAD + _lines(n, "http:// "),
    "stars": lambda n: HEAD + "*" * n,
    "one long word": lambda n: HEAD + "a" * n,
    "one long line of words": lambda n: HEAD + _lines(n, "word "),
    "many lines": lambda n: HEAD + _lines(n, "word\n"),
    "many paragraphs": lambda n: HEAD + _lines(n, "Word\n\n"),
    "many blank lines": lambda n: HEAD + "Text.\n" + "\n" * n + "End.",
    "many spaces": lambda n: HEAD + "Text" + " " * n + "end.",
    "many quotes": lambda n: HEAD + "Lead.\n\n" + _lines(n, "> q\n"),
    "many dashes": lambda n: HEAD + _lines(n, "— "),
    "many sentence ends": lambda n: HEAD + _lines(n, ". "),
    "many commas between digits": lambda n: HEAD + _lines(n, "1,1"),
    "hashes": lambda n: HEAD + "#" * n,
    "many tags": lambda n: "date 2026-02-20\ntags " + _lines(n, "t,") + "\n\nText.",
    "distinct tags": lambda n: (
        "date 2026-02-20\ntags " + ",".join(str(i) for i in range(n // 6)) + "\n\nText."
    ),
    "huge title": lambda n: "date 2026-02-20\ntitle " + _lines(n, "ab ") + "\n\nText.",
    "huge title word": lambda n: "date 2026-02-20\ntitle " + "x" * n + "\n\nText.",
    "huge summary": lambda n: "date 2026-02-20\nsummary " + _lines(n, "ab ") + "\n\nText.",
    "huge slug": lambda n: "date 2026-02-20\nslug " + _lines(n, "ab-") + "\n\nText.",
    "huge author": lambda n: "date 2026-02-20\nauthor " + _lines(n, "ab ") + "\n\nText.",
    "huge date line": lambda n: "date 2026-02-20 " + _lines(n, "a, "),
    "date then spaces": lambda n: "date 20.02.2026" + " " * n + "x\n\nText.",
    "header-like lines": lambda n: _lines(n, "title x\n") + "date 2026-02-20\n\nText.",
    "colon header letters": lambda n: "date 2026-02-20\n" + "a" * n + "\n\nText.",
    "invisible characters": lambda n: "date 2026-02-20\ntitle " + "\u200b" * n + "\n\nText.",
}


def read_and_render(text: str) -> None:
    """What a build does with one seed's text: parse, slug, body HTML (or the refusal)."""
    try:
        article = parse("x.txt", "x", text, UTC)
    except SeedError:
        return
    base_slug(article)
    blocks_to_html(article.blocks)
    linkify(article.summary)


def _timed(text: str) -> float:
    start = time.perf_counter()
    read_and_render(text)
    return time.perf_counter() - start


def costs(small: str, big: str, rounds: int = 8) -> tuple[float, float]:
    """The best timings of small and big, measured in turns so that both see the same load
    (the machine is shared: the minimum is the signal). Stops as soon as big costs under
    three times small: a linear path gets there in a round or two, a quadratic one (four
    times at twice the size) never does. The cyclic collector is off, as in a build."""
    best_small = best_big = float("inf")
    collecting = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            best_small = min(best_small, _timed(small))
            best_big = min(best_big, _timed(big))
            if best_big < 3 * max(best_small, FLOOR):
                break
    finally:
        if collecting:
            gc.enable()
    return best_small, best_big


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_hostile_seed_costs_time_linear_in_its_size(shape: str) -> None:
    small_cost, big_cost = costs(HOSTILE[shape](SIZE), HOSTILE[shape](2 * SIZE))
    assert big_cost < 3 * max(small_cost, FLOOR), (shape, small_cost, big_cost)


def test_url_followed_by_many_parentheses_stays_fast() -> None:
    start = time.perf_counter()
    html = linkify("http://x.org/a" + ")" * 150_000)
    assert time.perf_counter() - start < 1.0
    assert html.startswith('<a href="http://x.org/a">http://x.org/a</a>)))')


def test_tags_past_the_limit_are_dropped_with_a_warning() -> None:
    tags = ",".join(f"tag{i}" for i in range(30))
    article = parse("x.txt", "x", f"date 2026-02-20\ntags {tags}\n\nText.", UTC, Limits(tags=20))
    assert article.tags == tuple(f"tag{i}" for i in range(20))
    assert article.warnings == ("30 tags, the last 10 dropped (seeds.max_tags 20)",)


def test_long_title_and_summary_are_cut_on_a_word_boundary_with_warnings() -> None:
    text = f"date 2026-02-20\ntitle {'word ' * 100}\nsummary {'long ' * 400}\n\nText."
    article = parse("x.txt", "x", text, UTC, Limits(title=200, summary=1000))
    assert len(article.title) <= 200 and article.title.endswith("word…")
    assert len(article.summary) <= 1000 and article.summary.endswith("long…")
    assert article.warnings == (
        "title is 499 characters, cut to 200 (seeds.max_title)",
        "summary is 1999 characters, cut to 1000 (seeds.max_summary)",
    )


@PROPERTY
@given(
    tags=st.lists(st.text(min_size=1, max_size=30), max_size=60),
    limit=st.integers(min_value=1, max_value=25),
)
def test_no_article_carries_more_tags_than_the_limit(tags: list[str], limit: int) -> None:
    header = ",".join(t.replace("\n", " ") for t in tags)
    article = parse("x.txt", "x", f"date 2026-02-20\ntags {header}\n\nText.", UTC, Limits(limit))
    assert len(article.tags) <= limit
    assert all(tag and len(tag) <= 100 for tag in article.tags)
    dropped = any("seeds.max_tags" in w for w in article.warnings)
    assert dropped == (len({t.casefold() for t in article.tags}) == limit and dropped)


def test_three_thousand_tags_build_fast_publish_twenty_and_say_so(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = ", ".join(f"тег {i}" for i in range(3000))
    site.seed("many.txt", f"date 2026-02-20\ntags {tags}\n\nСтаття з тегами.\n")
    start = time.perf_counter()
    status = site.main("build", "--now", NOW)
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert status == 0
    assert elapsed < 10
    assert "seeds/many.txt: 3000 tags, the last 2980 dropped (seeds.max_tags 20)" in err
    assert len(list((site.out / "tags").iterdir())) == 20
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    assert len(feed["items"][0]["tags"]) == 20


def test_warnings_count_for_strict_and_check(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("long.txt", f"date 2026-02-20\ntitle {'слово ' * 60}\n\nТекст.\n")
    assert site.main("build", "--now", NOW) == 0
    assert site.main("build", "--now", NOW, "--strict") == 3  # the quick path says it again
    assert site.main("check", "--now", NOW) == 3
    err = capsys.readouterr().err
    assert err.count("seeds/long.txt: title is 359 characters, cut to 200") == 3
    assert (site.out / "index.html").exists()
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    assert len(feed["items"][0]["title"]) <= 200
