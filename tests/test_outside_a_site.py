"""Commands run outside a site: feeds.toml is looked for in the parents; without one, only
`build` and `check` work (with defaults), everything about subscribers or mail exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.cli.guards import NO_SITE
from feeds.cli.main import main
from tests.conftest import Site


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder with no feeds.toml in it or above it, as the current folder."""
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("FEEDS_CONFIG", raising=False)
    monkeypatch.delenv("FEEDS_NOW", raising=False)
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ["subscribers", "add", "olena@example.org"],
        ["subscribers", "list"],
        ["subscribers", "remove", "olena@example.org"],
        ["digest", "--send"],
        ["digest", "--dry-run"],
        ["run"],
        ["watch"],
    ],
    ids=lambda c: "-".join(c[:2]),
)
def test_mail_and_subscriber_commands_need_a_site(
    nowhere: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(command) == 2
    assert capsys.readouterr().err.splitlines() == [f"feeds: config error: {NO_SITE}"]
    assert list(nowhere.iterdir()) == []  # no .feeds-state invented


def test_build_with_defaults_still_works_outside_a_site(nowhere: Path) -> None:
    (nowhere / "seeds").mkdir()
    (nowhere / "seeds" / "a.txt").write_text("date 2026-02-10\ntitle Hello\n\nText.\n")
    os.utime(nowhere / "seeds" / "a.txt", (1_700_000_000, 1_700_000_000))
    assert main(["build", "--now", "2026-03-01"]) == 0
    assert (nowhere / "public" / "feed.json").is_file()


def test_the_site_is_found_from_a_subfolder(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = site.seeds / "2026" / "02"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("FEEDS_CONFIG", raising=False)
    assert main(["subscribers", "add", "olena@example.org"]) == 0
    assert (site.state / "feeds.sqlite3").is_file()
    assert not (deep / ".feeds-state").exists()


def test_serve_refuses_a_publish_folder_that_does_not_exist(site: Site) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    done = subprocess.run(
        [sys.executable, "-m", "feeds", "serve", "--port", "0"],
        cwd=site.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,  # the old code served the missing folder until killed
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "not found; run feeds build first" in lines[0], lines
