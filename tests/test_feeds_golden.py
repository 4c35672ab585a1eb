"""Golden files: the repository's seeds give exactly the reviewed feeds and article page.

After an intended change of the output, regenerate with

    FEEDS_REGEN_GOLDEN=1 python -m pytest tests/test_feeds_golden.py

and read every changed file in tests/golden/ before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_feeds import NOW, repository_site

GOLDEN = Path(__file__).resolve().parent / "golden"
REGEN = os.environ.get("FEEDS_REGEN_GOLDEN") == "1"
FILES = {
    "rss.xml": "rss.xml",
    "atom.xml": "atom.xml",
    "feed.json": "feed.json",
    "article.html": "articles/porty-velykoi-odesy-u-sichni-obrobyly-91-mln-tonn-vantazhiv.html",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The publish folder of one build of the repository's seeds."""
    site = repository_site(tmp_path_factory.mktemp("golden"))
    assert site.main("build", "--strict", "--now", NOW) == 0
    return site.out


@pytest.mark.parametrize("golden", list(FILES))
def test_output_matches_the_golden_file(out: Path, golden: str) -> None:
    produced = (out / FILES[golden]).read_bytes()
    expected = GOLDEN / golden
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        expected.write_bytes(produced)
    assert expected.is_file(), f"no golden file {expected}: run with FEEDS_REGEN_GOLDEN=1"
    assert produced.decode("utf-8") == expected.read_text(encoding="utf-8")
