"""Finding seed files (SPEC 2): suffixes, ignore patterns, symlinks, size limit, read errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.config import DEFAULT_IGNORE
from feeds.errors import SeedError
from feeds.read.seeds import SeedFile, read_article, read_bytes, scan, settle
from tests.conftest import Site

GOOD = "date 2026-02-20\n\nТекст статті, що має зміст.\n"


def found(site: Site, ignore: tuple[str, ...] = DEFAULT_IGNORE) -> list[str]:
    """Relative paths of the seed files a scan finds."""
    return [f.rel for f in scan(site.seeds, ignore).files]


def refused(site: Site) -> dict[str, str]:
    """Entries a scan refused, path -> reason."""
    return {e.path: e.reason for e in scan(site.seeds, DEFAULT_IGNORE).errors}


def only(site: Site, rel: str) -> SeedFile:
    """The scanned seed file at rel."""
    (seed,) = [f for f in scan(site.seeds, DEFAULT_IGNORE).files if f.rel == rel]
    return seed


def test_txt_and_md_files_are_seeds(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    site.seed("002_b.md", GOOD)
    site.seed("003_c.html", GOOD)
    site.seed("README", GOOD)
    assert found(site) == ["001_a.txt", "002_b.md"]


def test_seeds_in_subfolders_are_found(site: Site) -> None:
    site.seed("2026/02/001_a.txt", GOOD)
    site.seed("news/002_b.md", GOOD)
    assert found(site) == ["2026/02/001_a.txt", "news/002_b.md"]


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.txt",
        ".drafts/001.txt",
        "001.txt~",
        "001.txt.swp",
        ".001.txt.swp",
        "001.txt.tmp",
        "001.txt.part",
        "001.txt.crdownload",
    ],
)
def test_editor_and_download_leftovers_are_ignored(site: Site, name: str) -> None:
    site.seed("000_kept.txt", GOOD)
    site.seed(name, GOOD)
    assert found(site) == ["000_kept.txt"]


def test_configured_ignore_pattern_matches_file_names(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    site.seed("sub/002_b.bak.txt", GOOD)
    assert found(site, (*DEFAULT_IGNORE, "*.bak.txt")) == ["001_a.txt"]


def test_configured_ignore_pattern_matches_paths_inside_the_folder(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    site.seed("drafts/002_b.txt", GOOD)
    site.seed("news/drafts.txt", GOOD)
    assert found(site, (*DEFAULT_IGNORE, "drafts/*")) == ["001_a.txt", "news/drafts.txt"]


def test_configured_ignore_pattern_matches_a_folder_name(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    site.seed("notes/002_b.txt", GOOD)
    assert found(site, (*DEFAULT_IGNORE, "notes")) == ["001_a.txt"]


def test_symlinked_file_pointing_outside_is_refused(site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(GOOD, encoding="utf-8")
    (site.seeds / "001_link.txt").symlink_to(outside)
    assert found(site) == []
    assert refused(site) == {"001_link.txt": "symlink points outside the seeds folder"}


def test_symlinked_folder_pointing_outside_is_refused(site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "001_a.txt").write_text(GOOD, encoding="utf-8")
    (site.seeds / "more").symlink_to(outside, target_is_directory=True)
    assert found(site) == []
    assert refused(site) == {"more": "symlink points outside the seeds folder"}


def test_relative_symlink_escaping_with_dotdot_is_refused(site: Site, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(GOOD, encoding="utf-8")
    (site.seeds / "001_link.txt").symlink_to(Path("..") / "secret.txt")
    assert refused(site) == {"001_link.txt": "symlink points outside the seeds folder"}


def test_symlinked_file_inside_the_folder_is_read(site: Site) -> None:
    site.seed("archive/001_a.txt", GOOD)
    (site.seeds / "002_alias.txt").symlink_to(site.seeds / "archive" / "001_a.txt")
    assert found(site) == ["002_alias.txt", "archive/001_a.txt"]
    assert refused(site) == {}


def test_symlinked_folder_inside_is_not_walked_twice(site: Site) -> None:
    site.seed("archive/001_a.txt", GOOD)
    (site.seeds / "latest").symlink_to(site.seeds / "archive", target_is_directory=True)
    assert found(site) == ["archive/001_a.txt"]
    assert refused(site) == {}


def test_symlink_loop_does_not_hang(site: Site) -> None:
    site.seed("a/001_a.txt", GOOD)
    (site.seeds / "a" / "loop").symlink_to(site.seeds / "a", target_is_directory=True)
    assert found(site) == ["a/001_a.txt"]


def test_broken_symlink_is_reported(site: Site) -> None:
    (site.seeds / "001_gone.txt").symlink_to(site.seeds / "missing.txt")
    assert refused(site) == {"001_gone.txt": "broken symlink"}


def test_missing_seeds_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="seeds folder not found"):
        scan(tmp_path / "nope", DEFAULT_IGNORE)


def test_file_at_the_size_limit_is_read(site: Site) -> None:
    data = (GOOD + "x" * 100).encode()
    site.seed("001_a.txt", data)
    assert read_bytes(site.seeds, only(site, "001_a.txt"), len(data)) == data


def test_file_over_the_size_limit_is_an_error_naming_the_limit(site: Site) -> None:
    data = (GOOD + "x" * 100).encode()
    site.seed("001_a.txt", data)
    with pytest.raises(SeedError) as caught:
        read_bytes(site.seeds, only(site, "001_a.txt"), len(data) - 1)
    assert caught.value.path == "001_a.txt"
    assert caught.value.reason == (
        f"file is {len(data)} bytes, larger than seeds.max_bytes ({len(data) - 1})"
    )


def test_empty_file_is_an_error(site: Site) -> None:
    site.seed("001_a.txt", b"")
    seed = only(site, "001_a.txt")
    with pytest.raises(SeedError, match="empty file"):
        read_article(seed, b"", site.config().site.tz)


def test_whitespace_only_file_is_an_error(site: Site) -> None:
    site.seed("001_a.txt", b" \r\n\t\n")
    seed = only(site, "001_a.txt")
    with pytest.raises(SeedError, match="empty file"):
        read_article(seed, b" \r\n\t\n", site.config().site.tz)


def test_read_errors_carry_the_path_inside_the_folder(site: Site) -> None:
    site.seed("news/001_a.txt", b"date 2026-02-20\n\nx\x00y")
    seed = only(site, "news/001_a.txt")
    with pytest.raises(SeedError) as caught:
        read_article(seed, seed.path.read_bytes(), site.config().site.tz)
    assert caught.value.path == "news/001_a.txt"
    assert str(caught.value) == "news/001_a.txt: binary file (contains NUL bytes)"


def test_article_id_is_the_stem_in_any_folder(site: Site) -> None:
    site.seed("2026/000_91005bd04970e0af.txt", GOOD)
    seed = only(site, "2026/000_91005bd04970e0af.txt")
    article = read_article(seed, seed.path.read_bytes(), site.config().site.tz)
    assert article.id == "000_91005bd04970e0af"
    assert article.section == "2026"


# Files still being written ----------------------------------------------------------------------


def test_old_files_are_settled_without_a_pause(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    files = scan(site.seeds, DEFAULT_IGNORE).files
    pauses: list[float] = []
    settled, moving = settle(
        site.seeds, files, wall_clock=lambda: files[0].mtime_ns / 1e9 + 5, pause=pauses.append
    )
    assert (settled, moving, pauses) == (files, (), [])


def test_young_file_that_stays_still_is_settled_after_a_pause(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    files = scan(site.seeds, DEFAULT_IGNORE).files
    pauses: list[float] = []
    settled, moving = settle(
        site.seeds, files, wall_clock=lambda: files[0].mtime_ns / 1e9 + 0.2, pause=pauses.append
    )
    assert (settled, moving) == (files, ())
    assert len(pauses) == 1


def test_young_file_still_growing_is_left_for_the_next_run(site: Site) -> None:
    site.seed("001_a.txt", GOOD)
    path = site.seed("002_b.txt", GOOD)
    files = scan(site.seeds, DEFAULT_IGNORE).files

    def writer_appends(_: float) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("Ще один рядок.\n")

    young = files[1].mtime_ns / 1e9 + 0.2
    settled, moving = settle(site.seeds, files, wall_clock=lambda: young, pause=writer_appends)
    assert [f.rel for f in settled] == ["001_a.txt"]
    assert [f.rel for f in moving] == ["002_b.txt"]


def test_young_file_removed_during_the_pause_is_left_for_the_next_run(site: Site) -> None:
    path = site.seed("001_a.txt", GOOD)
    files = scan(site.seeds, DEFAULT_IGNORE).files
    settled, moving = settle(
        site.seeds, files, wall_clock=lambda: files[0].mtime_ns / 1e9, pause=lambda _: path.unlink()
    )
    assert (settled, [f.rel for f in moving]) == ((), ["001_a.txt"])
