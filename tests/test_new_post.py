"""`feeds new "Title"`: a new draft seed in the seeds folder, through the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Site

NOW = "2026-03-01T10:00"  # site time: Europe/Kyiv, +02:00 in March


def new(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    """`feeds new ...` in the site folder, clock fixed."""
    return site.run("new", *args, "--now", NOW)


def test_new_writes_a_draft_seed_and_prints_its_path(site: Site) -> None:
    result = new(site, "Україна і Японія", "--tags", "оборона, Японія")
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == site.seeds / "ukraina-i-yaponiia.txt"
    assert path.read_text("utf-8") == (
        "title: Україна і Японія\ndate: 2026-03-01 10:00:00+02:00\n"
        "tags: оборона, Японія\ndraft: true\n\n"
    )


def test_a_new_seed_reads_cleanly_and_stays_unpublished(site: Site) -> None:
    assert new(site, "Чернетка").returncode == 0
    assert site.run("check", "--strict", "--now", NOW).returncode == 0
    assert site.run("build", "--now", NOW).returncode == 0
    assert not (site.out / "articles" / "chernetka.html").exists()


def test_a_clashing_name_takes_the_next_number(site: Site) -> None:
    site.seed("news/zvit.txt", "date 2026-01-01 Старий звіт.\n")
    first = new(site, "Звіт")
    second = new(site, "Звіт")
    assert Path(first.stdout.strip()).name == "zvit-2.txt"  # the stem is an id: all folders
    assert Path(second.stdout.strip()).name == "zvit-3.txt"


def test_md_and_section(site: Site) -> None:
    result = new(site, "Hello world", "--md", "--section", "blog/2026")
    assert Path(result.stdout.strip()) == site.seeds / "blog" / "2026" / "hello-world.md"
    assert "title: Hello world\n" in Path(result.stdout.strip()).read_text("utf-8")


def test_a_section_outside_the_seeds_folder_is_refused(site: Site) -> None:
    for section in ("../out", "/tmp", ".hidden", "a/../../b"):
        result = new(site, "Title", "--section", section)
        assert result.returncode == 2, section
        assert len(result.stderr.strip().splitlines()) == 1
        assert "--section" in result.stderr and "Traceback" not in result.stderr
    assert [p for p in site.root.rglob("*") if p.is_file() and p.suffix == ".txt"] == []


def test_a_title_with_a_line_break_is_refused(site: Site) -> None:
    result = new(site, "Title\ndraft: false")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "feeds: config error: title: must be one line without control characters"
    )


def test_concurrent_new_never_share_a_file(site: Site) -> None:
    command = [sys.executable, "-m", "feeds", "--config", str(site.config_path), "new", "Same"]
    runs = [
        subprocess.Popen(command, cwd=site.root, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    paths = [run.communicate(timeout=60)[0].strip() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(set(paths)) == 6
    assert sorted(p.name for p in site.seeds.iterdir()) == sorted(Path(p).name for p in paths)


def test_new_needs_the_seeds_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "new", "Title"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "seeds folder" in result.stderr and "feeds init" in result.stderr
