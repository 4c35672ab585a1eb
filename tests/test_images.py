"""The `image` header: enclosure, Media RSS, Atom enclosure, JSON Feed image, Open Graph."""

from __future__ import annotations

import io
import json
from typing import Any

import feedparser
import pytest
from PIL import Image

from tests.conftest import Site
from tests.support_web import BASE, NOW, build, make_site, parse_html

LOCAL_URL = BASE + "media/metro/photo.png"
REMOTE_URL = "https://cdn.example.net/pictures/bridge.jpg"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Site:
    site = make_site(tmp_path_factory.mktemp("images"))
    site.seed("kyiv/photo.png", png_bytes())
    site.seed("kyiv/metro.txt", "date 2026-02-10\ntitle Метро\nimage: photo.png\n\nТекст.\n")
    site.seed("bridge.txt", f"date 2026-02-11\ntitle Міст\nimage: {REMOTE_URL}\n\nТекст.\n")
    site.seed("plain.txt", "date 2026-02-12\ntitle Без фото\n\nТекст.\n")
    build(site)
    return site


def _entry(site: Site, feed: str, title: str) -> Any:
    parsed = feedparser.parse(str(site.out / feed))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return next(e for e in parsed.entries if e.title == title)


def _json_item(site: Site, title: str) -> dict[str, Any]:
    items = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))["items"]
    item: dict[str, Any] = next(i for i in items if i["title"] == title)
    return item


def test_local_image_is_copied_into_the_publish_folder(built: Site) -> None:
    assert (built.out / "media/metro/photo.png").read_bytes() == png_bytes()


def test_local_image_is_an_rss_enclosure_with_length_and_type(built: Site) -> None:
    entry = _entry(built, "rss.xml", "Метро")
    assert [(e.href, e.type, int(e.length)) for e in entry.enclosures] == [
        (LOCAL_URL, "image/png", len(png_bytes()))
    ]


@pytest.mark.parametrize(("title", "url"), [("Метро", LOCAL_URL), ("Міст", REMOTE_URL)])
def test_image_is_a_media_rss_thumbnail(built: Site, title: str, url: str) -> None:
    entry = _entry(built, "rss.xml", title)
    assert [t["url"] for t in entry.media_thumbnail] == [url]


def test_local_image_is_an_atom_enclosure_link(built: Site) -> None:
    entry = _entry(built, "atom.xml", "Метро")
    assert [(e.href, e.type, int(e.length)) for e in entry.enclosures] == [
        (LOCAL_URL, "image/png", len(png_bytes()))
    ]


@pytest.mark.parametrize("title", ["Метро", "Міст"])
def test_atom_image_does_not_become_a_second_alternate_link(built: Site, title: str) -> None:
    entry = _entry(built, "atom.xml", title)
    alternates = [link.href for link in entry.links if link.rel == "alternate"]
    assert len(alternates) == 1
    assert entry.link == alternates[0]
    assert entry.link.endswith(".html")


def test_remote_image_is_an_atom_enclosure_link(built: Site) -> None:
    entry = _entry(built, "atom.xml", "Міст")
    assert [e.href for e in entry.enclosures] == [REMOTE_URL]


@pytest.mark.parametrize(("title", "url"), [("Метро", LOCAL_URL), ("Міст", REMOTE_URL)])
def test_image_is_the_json_feed_item_image(built: Site, title: str, url: str) -> None:
    assert _json_item(built, title)["image"] == url


@pytest.mark.parametrize(("title", "url"), [("Метро", LOCAL_URL), ("Міст", REMOTE_URL)])
def test_image_is_the_pages_open_graph_and_twitter_image(built: Site, title: str, url: str) -> None:
    slug = {"Метро": "metro", "Міст": "mist"}[title]
    page = parse_html(built.out / f"articles/{slug}.html")
    assert page.xpath("//meta[@property='og:image']/@content") == [url]
    assert page.xpath("//meta[@name='twitter:image']/@content") == [url]
    assert page.xpath("//meta[@name='twitter:card']/@content") == ["summary_large_image"]


def test_article_without_image_has_none_anywhere(built: Site) -> None:
    assert _entry(built, "rss.xml", "Без фото").get("enclosures") == []
    assert "image" not in _json_item(built, "Без фото")
    page = parse_html(built.out / "articles/bez-foto.html")
    assert page.xpath("//meta[@property='og:image']") == []


def test_missing_image_file_is_a_warning_and_the_article_still_publishes(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\nimage: nowhere.png\n\nТекст.\n")
    build(site)
    assert "nowhere.png" in capsys.readouterr().err
    assert "image" not in _json_item(site, "Метро")
    assert not (site.out / "media").exists()


def test_image_outside_the_seeds_folder_is_never_copied(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    (site.root / "secret.png").write_bytes(png_bytes())
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\nimage: ../secret.png\n\nТекст.\n")
    build(site)
    assert "secret.png" in capsys.readouterr().err
    assert not (site.out / "media").exists()
    assert "image" not in _json_item(site, "Метро")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nowhere.png", "image 'nowhere.png' not found inside the seeds folder"),
        ("javascript:alert(1)", "image 'javascript:alert(1)' is not an http(s) URL; no image"),
        ('https://x.org/"a.png', "image URL 'https://x.org/\"a.png' holds spaces or quotes"),
    ],
)
def test_image_warnings_are_seed_lines_counted_by_check_and_strict(
    site: Site, capsys: pytest.CaptureFixture[str], value: str, reason: str
) -> None:
    site.seed("a.txt", f"date 2026-02-10\ntitle Метро\nimage: {value}\n\nТекст.\n")
    assert site.main("build", "--now", NOW, "--strict") == 3
    assert site.main("check", "--now", NOW) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"seeds/a.txt: {reason}") for line in lines)
    assert "image" not in _json_item(site, "Метро")


def test_an_image_file_that_comes_back_is_shown_again(site: Site) -> None:
    """A missing image file put back later (same seed, same stat) shows again: the build
    that would otherwise find nothing changed looks at every image an article names."""
    site.seed("a.txt", "date 2026-02-10\ntitle Метро\nimage: photo.png\n\nТекст.\n")
    build(site)
    assert "image" not in _json_item(site, "Метро")
    site.seed("photo.png", png_bytes())
    build(site)
    assert _json_item(site, "Метро")["image"] == BASE + "media/a/photo.png"
    assert (site.out / "media/a/photo.png").read_bytes() == png_bytes()
