"""Images a Markdown body shows (SPEC 2a): read through feeds.read.safe_open like the
`image` header's, each problem one warning line, the article published all the same."""

from __future__ import annotations

import os

import pytest

from tests.conftest import Site

NOW = "2026-03-01T12:00"
BODY = "---\ntitle: Метро\ndate: 2026-02-10\n---\n\n![one](one.png)\n\nТекст ![two](two.png).\n"


def test_body_images_are_copied_and_problems_are_single_warning_lines(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    (site.root / "secret.png").write_bytes(b"SECRET")
    os.symlink(site.root / "secret.png", site.seeds / "two.png")  # leads out of the folder
    site.seed("one.png", b"PNG1")
    site.seed("a.md", BODY)
    assert site.main("check", "--now", NOW) == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("seeds/a.md: image 'two.png' not found")
    assert site.main("build", "--now", NOW, "--strict") == 3
    assert (site.out / "media/a/one.png").read_bytes() == b"PNG1"
    assert not (site.out / "media/a/two.png").exists()
    assert (site.out / "articles").is_dir()


def test_first_body_image_missing_is_warned_once_and_a_returning_image_is_copied(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("two.png", b"PNG2")
    site.seed("a.md", BODY)
    assert site.main("build", "--now", NOW) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "image 'one.png' not found" in lines[0]
    assert (site.out / "media/a/two.png").read_bytes() == b"PNG2"
    site.seed("one.png", b"PNG1")  # same seed, same stat: only the image came back
    assert site.main("build", "--now", NOW) == 0
    assert (site.out / "media/a/one.png").read_bytes() == b"PNG1"
