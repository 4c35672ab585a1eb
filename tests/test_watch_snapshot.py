"""The watcher's cheap snapshot: what counts as a change, and when a change has settled."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from feeds.config import DEFAULT_IGNORE
from feeds.read.seeds import scan
from feeds.run.watcher import AUDIT_POLLS, RESTAT_FOLDER_MAX, Watcher

OLD = time.time() - 3600.0  # an mtime long settled


def write(path: Path, text: str = "date 2026-02-20 Lead.\n", mtime: float | None = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    root = tmp_path / "seeds"
    write(root / "a.txt")
    write(root / "sub" / "b.md")
    return root


def built_watcher(
    root: Path, ignore: tuple[str, ...] = DEFAULT_IGNORE, **audit: int | None
) -> Watcher:
    watcher = Watcher(root, ignore, **audit)  # type: ignore[arg-type]
    first = watcher.poll(time.time() + 5.0)  # files the test just wrote count as settled
    assert first.initial and first.ready
    watcher.mark_built()
    return watcher


def test_first_poll_asks_for_a_build_and_a_quiet_folder_then_asks_for_none(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    for _ in range(3):
        change = watcher.poll(time.time())
        assert change.paths == () and not change.ready


def test_snapshot_holds_the_same_files_as_the_build_scan(seeds: Path) -> None:
    ignore = (*DEFAULT_IGNORE, "drafts/*")
    for name in (".hidden.txt", "x.txt~", "y.swp", "z.tmp", "w.part", "v.crdownload", "n.pdf"):
        write(seeds / name)
    write(seeds / "drafts" / "later.txt")
    write(seeds / ".git" / "c.txt")
    watcher = Watcher(seeds, ignore)
    watcher.poll(time.time())
    expected = {f.rel: f.signature for f in scan(seeds, ignore).files}
    assert watcher.current == expected
    assert set(expected) == {"a.txt", "sub/b.md"}


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda root: write(root / "new.txt"), id="added"),
        pytest.param(lambda root: write(root / "deep" / "er" / "c.txt"), id="added in new folder"),
        pytest.param(lambda root: (root / "a.txt").unlink(), id="removed"),
        pytest.param(lambda root: write(root / "a.txt", "date 2026-02-21 Other.\n"), id="in place"),
        pytest.param(lambda root: os.utime(root / "a.txt", (OLD + 60, OLD + 60)), id="touched"),
        pytest.param(
            lambda root: os.replace(write(root / ".a.txt.tmp"), root / "a.txt"), id="renamed over"
        ),
        pytest.param(lambda root: os.rename(root / "sub", root / "moved"), id="folder renamed"),
        pytest.param(lambda root: os.rename(root / "a.txt", root / "b.txt"), id="file renamed"),
        pytest.param(
            lambda root: ((root / "a.txt").unlink(), write(root / "a.txt" / "inner.txt")),
            id="file became folder",
        ),
        pytest.param(
            lambda root: ((root / "a.txt").unlink(), write(root / "a.txt", "date 2026-03-01 X.\n")),
            id="deleted and written again",
        ),
    ],
)
def test_every_kind_of_change_is_seen_on_the_next_poll(seeds: Path, edit: object) -> None:
    watcher = built_watcher(seeds)
    edit(seeds)  # type: ignore[operator]
    change = watcher.poll(time.time())
    assert change.ready
    assert watcher.current == {f.rel: f.signature for f in scan(seeds, DEFAULT_IGNORE).files}


@pytest.mark.parametrize("count", [5, RESTAT_FOLDER_MAX + 5], ids=["small", "large"])
def test_a_rename_inside_a_folder_is_one_removal_and_one_addition(
    tmp_path: Path, count: int
) -> None:
    root = tmp_path / "seeds"
    root.mkdir()
    for i in range(count):
        (root / f"{i:05d}.txt").write_bytes(b"x")
    watcher = built_watcher(root)
    os.rename(root / "00003.txt", root / "renamed.txt")
    change = watcher.poll(time.time())
    assert change.signatures.keys() == {"00003.txt", "renamed.txt"}
    assert change.signatures["00003.txt"] is None


def test_temp_files_being_written_are_not_a_change(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    write(seeds / ".incoming.txt", mtime=None)
    write(seeds / "upload.txt.part", mtime=None)
    assert watcher.poll(time.time()).paths == ()


def test_a_young_file_is_not_ready_until_it_has_been_still_for_a_second(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    path = write(seeds / "fresh.txt", mtime=None)
    mtime = path.stat().st_mtime_ns / 1e9
    young = watcher.poll(mtime + 0.3)
    assert young.paths == ("fresh.txt",) and not young.ready
    assert young.settles_at == pytest.approx(mtime + 1.0)
    settled = watcher.poll(mtime + 1.0)
    assert settled.paths == ("fresh.txt",) and settled.ready


def test_a_change_stays_pending_until_a_build_is_marked(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    write(seeds / "new.txt")
    assert watcher.poll(time.time()).ready
    assert watcher.poll(time.time()).ready  # no build happened: still a change
    watcher.mark_built()
    assert not watcher.poll(time.time()).ready


def test_a_change_made_while_a_build_runs_is_seen_after_it(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    write(seeds / "new.txt")
    assert watcher.poll(time.time()).ready
    write(seeds / "a.txt", "date 2026-02-22 Changed during the build.\n")  # after the poll
    watcher.mark_built()
    assert watcher.poll(time.time()).paths == ("a.txt",)


def test_a_file_written_back_to_its_built_state_is_no_change(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    before = (seeds / "a.txt").stat()
    write(seeds / "a.txt", "date 2026-02-22 X.\n")
    assert watcher.poll(time.time()).paths == ("a.txt",)
    write(seeds / "a.txt")  # same size and mtime as built, and the same inode
    os.utime(seeds / "a.txt", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert watcher.poll(time.time()).paths == ()


def test_an_in_place_edit_is_found_within_one_audit_round(tmp_path: Path) -> None:
    root = tmp_path / "seeds"
    for i in range(200):
        write(root / f"{i:03d}.txt")
    os.utime(root, (OLD, OLD))  # the folder itself no longer changes
    watcher = built_watcher(root, audit_polls=AUDIT_POLLS, audit_min=1)
    write(root / "123.txt", "date 2026-02-20 Lead, edited in place.\n")
    polls = 1
    while not watcher.poll(time.time()).ready:
        polls += 1
        assert polls <= AUDIT_POLLS
    assert watcher.current["123.txt"][0] == len("date 2026-02-20 Lead, edited in place.\n")


def test_a_quiet_poll_does_not_stat_every_file(tmp_path: Path) -> None:
    root = tmp_path / "seeds"
    for i in range(200):
        write(root / f"{i:03d}.txt")
    os.utime(root, (OLD, OLD))
    watcher = built_watcher(root, audit_polls=None)
    write(root / "123.txt", "date 2026-02-20 Lead, edited in place.\n")
    assert watcher.poll(time.time()).paths == ()  # neither the folder nor a hint says so


def test_an_inotify_hint_finds_an_in_place_edit_at_once(tmp_path: Path) -> None:
    root = tmp_path / "seeds"
    for i in range(200):
        write(root / f"{i:03d}.txt")
    os.utime(root, (OLD, OLD))
    watcher = built_watcher(root, audit_polls=None)
    edited = write(root / "123.txt", "date 2026-02-20 Edited.\n")
    watcher.hint(str(edited))
    watcher.hint(str(root / "not-a-seed.txt"))
    assert watcher.poll(time.time()).paths == ("123.txt",)


def test_a_missing_seeds_folder_reads_as_every_file_removed(seeds: Path) -> None:
    watcher = built_watcher(seeds)
    for path in sorted(seeds.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    seeds.rmdir()
    assert watcher.poll(time.time()).paths == ("a.txt", "sub/b.md")
