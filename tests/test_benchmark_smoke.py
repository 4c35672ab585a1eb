"""The benchmark harness runs end to end at N = 200 (no timing assertions: figures vary)."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC
from pathlib import Path

from feeds.read.seeds import SeedFile, read_article

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)


def test_corpus_is_deterministic(tmp_path: Path) -> None:
    first = corpus.generate(tmp_path / "a", 30)
    second = corpus.generate(tmp_path / "b", 30)
    for folder in ("seeds", "pelican", "hugo", "markdown"):
        names = sorted(p.name for p in (first.root / folder).iterdir())
        assert len(names) == 30
        for name in names:
            assert (first.root / folder / name).read_bytes() == (
                second.root / folder / name
            ).read_bytes()


def test_corpus_seeds_are_valid_articles_of_realistic_size(tmp_path: Path) -> None:
    paths = corpus.generate(tmp_path / "c", 36)
    days: dict[str, int] = {}
    for path in sorted(paths.seeds.iterdir()):
        data = path.read_bytes()
        assert 3800 <= len(data) <= 5600
        seed = SeedFile(path.name, path, len(data), 0, 0)
        article = read_article(seed, data, UTC)
        assert article.title and len(article.blocks) >= 5
        assert any(block.kind == "h2" for block in article.blocks)
        day = article.date.date().isoformat()
        days[day] = days.get(day, 0) + 1
    assert sorted(days.values()) == [12, 12, 12]


def test_markdown_corpus_reads_as_the_same_articles_with_markdown_features(
    tmp_path: Path,
) -> None:
    paths = corpus.generate(tmp_path / "m", 30)
    tables = lists = 0
    for path in sorted(paths.markdown.iterdir()):
        data = path.read_bytes()
        seed = SeedFile(path.name, path, len(data), 0, 0)
        article = read_article(seed, data, UTC, site_url="https://news.example.org/")
        twin = paths.seeds / path.name.replace(".md", ".txt")
        txt = read_article(SeedFile(twin.name, twin, 0, 0, 0), twin.read_bytes(), UTC)
        assert article.date == txt.date and article.title
        html = article.blocks[0].text
        assert "<h2>" in html and "<em>" in html and "<strong>" in html
        assert 'href="https://news.example.org/archive/' in html
        tables += "<table>" in html
        lists += "<ul>" in html
    assert 0 < tables < 30 and 0 < lists < 30


def test_runner_at_200_articles_prints_table_and_skips_missing_baselines(tmp_path: Path) -> None:
    args = [
        "--sizes", "200",
        "--repeat", "1",
        "--baselines", "floor,hugo,pelican",
        "--pelican-venv", str(tmp_path / "no-venv"),  # never installs: reported as skipped
        "--no-extras",
        "--markdown",
        "--work", str(tmp_path / "work"),
        "--results", str(tmp_path / "results"),
    ]  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skipped baseline: pelican" in done.stdout
    assert "| cold build |" in done.stdout and "feeds ÷ floor" in done.stdout
    results = tmp_path / "results"
    assert (results / "chart.png").read_bytes().startswith(b"\x89PNG")
    with open(results / "runs.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for system in ("feeds", "feeds-md"):
        steps = {row["step"] for row in rows if row["system"] == system}
        assert steps == {"cold", "nochange", "add", "edit"}
    assert "feeds-md ÷ feeds" in done.stdout and "≤ 1.25× .txt" in done.stdout
    assert all(float(row["wall"]) > 0 and int(row["rss_kb"]) > 0 for row in rows)
    assert not (tmp_path / "work" / "runs").exists()  # run folders are cleaned up
