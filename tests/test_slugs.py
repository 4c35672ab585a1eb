"""Permanent slugs: numbering of equal titles."""

from __future__ import annotations


def test_many_articles_with_one_title_get_the_next_free_numbers() -> None:
    """20 000 equal titles (generated corpora have many): each takes the next free number;
    the search resumes where the last one stopped (restarting it was quadratic)."""
    from feeds.slugs import assign_slugs

    wanted = [(f"id{i}", "novyna") for i in range(20_000)] + [("x", "novyna-7")]
    slugs = assign_slugs(wanted, {"old": "novyna-3"})
    assert slugs["id0"] == "novyna" and slugs["id1"] == "novyna-2"
    assert slugs["id2"] == "novyna-4"  # -3 was taken for ever by "old"
    assert slugs["id19999"] == "novyna-20001"
    assert slugs["x"] == "novyna-7-2"  # its own base was taken by the numbering
    assert len(set(slugs.values())) == len(slugs)
