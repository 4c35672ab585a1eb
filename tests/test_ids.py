"""Feed ids: tag: URIs from file stems, valid IRIs whatever the file is called."""

from __future__ import annotations

import feedparser

from tests.conftest import Site


def test_stem_with_spaces_and_quotes_gives_a_percent_encoded_tag_id(site: Site) -> None:
    site.seed('новина "дня" <1>.txt', "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    parsed = feedparser.parse((site.out / "atom.xml").read_bytes())
    assert parsed.bozo == 0
    assert [e.id for e in parsed.entries] == [
        "tag:news.example.org,2026:новина%20%22дня%22%20%3C1%3E"
    ]


def test_plain_stem_is_the_tag_id_unchanged(site: Site) -> None:
    site.seed("000_91005bd04970e0af.txt", "title: Новина\ndate: 2026-02-10\n\nТекст.\n")
    assert site.main("build", "--now", "2026-03-01") == 0
    parsed = feedparser.parse((site.out / "rss.xml").read_bytes())
    assert [e.id for e in parsed.entries] == ["tag:news.example.org,2026:000_91005bd04970e0af"]
