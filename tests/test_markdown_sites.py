"""Pointing paths.seeds at a Hugo, Jekyll or Pelican content folder (SPEC 2a), unchanged.

The fixtures in tests/fixtures/sites/ follow each tool's documented formats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import SITE_TOML, Site

SITES = Path(__file__).parent / "fixtures" / "sites"
NOW = "2026-03-01T12:00"


def build(make_site: Callable[[str], Site], seeds: Path) -> tuple[dict[str, Any], str, Site]:
    """Build a site from seeds; its feed.json items by title, stderr of `build -v`."""
    site = make_site(SITE_TOML.replace('seeds = "seeds"', f'seeds = "{seeds}"'))
    result = site.run("-v", "build", "--now", NOW)
    assert result.returncode == 0, result.stderr
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    return {item["title"]: item for item in feed["items"]}, result.stderr, site


def test_hugo_content_folder(make_site: Callable[[str], Site]) -> None:
    items, stderr, site = build(make_site, SITES / "hugo" / "content")
    assert set(items) == {"My trip to Kyiv", "A TOML post"}
    trip = items["My trip to Kyiv"]
    assert trip["date_published"] == "2026-02-20T09:30:00+02:00"
    assert trip["date_modified"] == "2026-02-22T10:00:00+02:00"
    assert trip["tags"] == ["travel", "ukraine", "Stories"]
    assert trip["summary"] == "Three days by train."
    assert trip["url"] == "https://news.example.org/articles/my-trip-to-kyiv.html"
    assert trip["image"] == "https://news.example.org/media/my-trip/train.png"
    assert "<h2>Day one</h2>" in trip["content_html"]
    assert 'src="https://news.example.org/media/my-trip/platform.png"' in trip["content_html"]
    assert (site.out / "media" / "my-trip" / "platform.png").read_bytes() == b"PNG"
    assert (site.out / "media" / "my-trip" / "train.png").is_file()
    assert items["A TOML post"]["url"].endswith("/articles/toml.html")
    assert items["A TOML post"]["tags"] == ["hugo", "toml"]
    assert "posts/_index.md: skipped: a Hugo section page" in stderr
    assert "about.md: no date" in stderr
    assert "draft" not in json.dumps(items)
    assert (site.out / "sections" / "posts").is_dir()


def test_jekyll_site_root(make_site: Callable[[str], Site]) -> None:
    items, stderr, _site = build(make_site, SITES / "jekyll")
    assert set(items) == {"Welcome to Jekyll!", "No Date Key"}
    welcome = items["Welcome to Jekyll!"]
    assert welcome["date_published"] == "2026-02-20T09:30:00+02:00"
    assert welcome["tags"] == ["jekyll", "update"]
    assert welcome["url"].endswith("/articles/welcome-to-jekyll.html")
    dated = items["No Date Key"]
    assert dated["date_published"].startswith("2026-02-15T00:00:00")
    assert dated["url"].endswith("/articles/no-date-key.html")
    assert dated["tags"] == ["notes"]
    assert "_layouts: skipped: a folder of the site generator" in stderr
    assert "index.md: no date" in stderr


def test_pelican_content_folder(make_site: Callable[[str], Site]) -> None:
    items, stderr, _site = build(make_site, SITES / "pelican" / "content")
    assert set(items) == {"My first Pelican post"}
    post = items["My first Pelican post"]
    assert post["date_published"] == "2026-02-10T10:20:00+02:00"
    assert post["date_modified"] == "2026-02-11T19:30:00+02:00"
    assert post["tags"] == ["pelican", "publishing", "Python"]
    assert post["url"].endswith("/articles/my-first-post.html")
    assert post["summary"] == "Short version for index and feeds"
    assert post["authors"] == [{"name": "Alexis Métaireau, Conan Doyle"}]
    assert "pages/about.md: no date" in stderr
