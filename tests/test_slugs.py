"""Permanent slugs: numbering of equal titles."""

from __future__ import annotations

import pytest

from feeds.read.slugs import is_reserved, make_slug
from tests.conftest import Site

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL


def test_many_articles_with_one_title_get_the_next_free_numbers() -> None:
    """20 000 equal titles (generated corpora have many): each takes the next free number;
    the search resumes where the last one stopped (restarting it was quadratic)."""
    from feeds.read.slugs import assign_slugs

    wanted = [(f"id{i}", "novyna") for i in range(20_000)] + [("x", "novyna-7")]
    slugs = assign_slugs(wanted, {"old": "novyna-3"})
    assert slugs["id0"] == "novyna" and slugs["id1"] == "novyna-2"
    assert slugs["id2"] == "novyna-4"  # -3 was taken for ever by "old"
    assert slugs["id19999"] == "novyna-20001"
    assert slugs["x"] == "novyna-7-2"  # its own base was taken by the numbering
    assert len(set(slugs.values())) == len(slugs)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Index", "index-1"),
        ("CON", "con-1"),
        ("nul", "nul-1"),
        ("Com7", "com7-1"),
        ("LPT9", "lpt9-1"),
        ("com10", "com10"),
        ("Console", "console"),
    ],
)
def test_reserved_names_get_a_suffix(text: str, slug: str) -> None:
    assert make_slug(text) == slug


def test_reserved_name_with_an_extension_is_reserved() -> None:
    assert is_reserved("con.txt") and is_reserved("AUX.html") and not is_reserved("con-txt")


def test_reserved_article_and_tag_slugs_on_a_site(site: Site) -> None:
    site.seed("a.txt", "title: Index\ndate: 2026-02-10\ntags: CON\n\nТекст.\n")
    site.seed("b.txt", "title: b\nslug: aux\ndate: 2026-02-11\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    assert sorted(p.name for p in (site.out / "articles").iterdir()) == [
        "aux-1.html",
        "index-1.html",
    ]
    assert [p.name for p in (site.out / "tags").iterdir()] == ["con-1"]
