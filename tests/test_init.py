"""`feeds init DIR`: a working site folder, ready for `feeds build`."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from feeds.cli.main import main
from feeds.config import _SECTIONS, load_config
from feeds.site.templating import PACKAGE_TEMPLATES


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder with no config in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDS_CONFIG", raising=False)
    monkeypatch.delenv("FEEDS_NOW", raising=False)


def init(target: Path, *args: str) -> int:
    return main(["init", str(target), *args])


def test_init_creates_config_seeds_and_templates_and_names_the_next_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(tmp_path / "news") == 0
    site = tmp_path / "news"
    assert (site / "feeds.toml").is_file()
    assert [p.name for p in (site / "seeds").iterdir()] == ["welcome.txt"]
    shipped = {p.name for p in PACKAGE_TEMPLATES.iterdir() if p.name != "init"}
    assert {p.name for p in (site / "templates").iterdir()} == shipped
    out = capsys.readouterr()
    assert out.err == ""
    commands = [line.strip() for line in out.out.splitlines() if line.startswith("  ")]
    assert commands == [f"cd {site} && feeds build", "feeds serve"]


def test_the_new_site_builds_and_publishes_its_example_article(tmp_path: Path) -> None:
    assert init(tmp_path / "news", "--now", "2026-05-04T10:00") == 0
    config = tmp_path / "news" / "feeds.toml"
    assert main(["--config", str(config), "build", "--now", "2026-05-04T10:00"]) == 0
    feed = json.loads((tmp_path / "news" / "public" / "feed.json").read_bytes())
    assert [item["title"] for item in feed["items"]] == ["Welcome to your new site"]


def test_the_copied_templates_are_the_ones_used(tmp_path: Path) -> None:
    assert init(tmp_path / "news") == 0
    base = tmp_path / "news" / "templates" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("</body>", "<!-- ours --></body>"))
    assert main(["--config", str(tmp_path / "news" / "feeds.toml"), "build"]) == 0
    assert "<!-- ours -->" in (tmp_path / "news" / "public" / "index.html").read_text()


def test_feeds_toml_sets_every_config_key_and_loads_cleanly(tmp_path: Path) -> None:
    assert init(tmp_path / "news", "--now", "2026-05-04") == 0
    path = tmp_path / "news" / "feeds.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for section, cls in _SECTIONS.items():
        expected = {f.name.rstrip("_") for f in dataclasses.fields(cls)}
        assert set(raw[section]) == expected, section
    config = load_config(path)
    assert config.site.id_year == 2026
    assert config.paths.seeds == tmp_path / "news" / "seeds"
    assert config.paths.templates == tmp_path / "news" / "templates"


def test_every_key_in_feeds_toml_is_explained_by_a_comment(tmp_path: Path) -> None:
    assert init(tmp_path / "news") == 0
    lines = (tmp_path / "news" / "feeds.toml").read_text(encoding="utf-8").splitlines()
    explained = 0
    for number, line in enumerate(lines):
        if " = " in line and not line.startswith("#"):
            block = lines[:number]
            while block and " = " in block[-1] and not block[-1].startswith("#"):
                block.pop()  # keys grouped under one comment share it
            assert block and block[-1].startswith("#"), f"no comment for: {line}"
            explained += 1
    assert explained >= 30


def test_the_example_article_is_dated_today_so_it_is_not_held_back(tmp_path: Path) -> None:
    assert init(tmp_path / "news", "--now", "2026-05-04T10:00") == 0
    text = (tmp_path / "news" / "seeds" / "welcome.txt").read_text(encoding="utf-8")
    assert text.startswith("date: 2026-05-04\n")


def test_init_into_an_empty_existing_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert init(tmp_path / "empty") == 0
    assert (tmp_path / "empty" / "feeds.toml").is_file()


def test_init_never_touches_a_folder_that_has_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "mine"
    site.mkdir()
    (site / "feeds.toml").write_text("# my settings\n")
    assert init(site) == 2
    assert (site / "feeds.toml").read_text() == "# my settings\n"
    assert sorted(p.name for p in site.iterdir()) == ["feeds.toml"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not empty" in err[0]
