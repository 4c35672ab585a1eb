"""robots.txt is read only at a host's root: with a base_url that has a path it is not
published, and the build says so once (on a full build), not on every run."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SITE_TOML, Site


def test_a_base_url_with_a_path_gets_no_robots_txt_and_one_line_once(tmp_path: Path) -> None:
    toml = SITE_TOML.replace('"https://news.example.org/"', '"https://example.org/news/"')
    site = Site(tmp_path, toml)
    site.seed("a.txt", "date 2026-02-10\ntitle Перша\n\nТекст.\n")
    first = site.run("build", "--now", "2026-03-01")
    assert first.returncode == 0
    lines = first.stderr.splitlines()
    assert (
        len(lines) == 1
        and "robots.txt" in lines[0]
        and "https://example.org/robots.txt" in lines[0]
    )
    assert not (site.out / "robots.txt").exists()
    assert (site.out / "sitemap.xml").is_file()
    site.seed("b.txt", "date 2026-02-11\ntitle Друга\n\nТекст.\n")
    again = site.run("build", "--now", "2026-03-01")
    assert (again.returncode, again.stderr) == (0, "")


def test_a_base_url_at_the_root_publishes_robots_txt_quietly(site: Site) -> None:
    site.seed("a.txt", "date 2026-02-10\ntitle Перша\n\nТекст.\n")
    result = site.run("build", "--now", "2026-03-01")
    assert (result.returncode, result.stderr) == (0, "")
    assert (site.out / "robots.txt").is_file()
