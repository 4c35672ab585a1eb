"""Bad files in the seeds folder that the per-class tests elsewhere do not cover (SPEC 2).

Each is skipped with exactly one stderr line and every good seed is still published.
Covered elsewhere, not repeated here: no date, impossible date, year 3000, empty,
whitespace only, binary, broken UTF-8, oversized, symlink out, broken symlink, editor
leftovers (tests/test_cli_build.py, tests/test_seeds.py).
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from tests.conftest import Site

NOW = "2026-03-01T12:00"
GOOD = "date 2026-02-20\n\nДобра стаття про щось важливе, що сталося сьогодні.\n"
OLD = 1_700_000_000  # an mtime well outside the one-second settling window
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def published_ids(site: Site) -> list[str]:
    """Article ids (file stems) in the JSON Feed."""
    feed = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    return [item["id"].rpartition(":")[2] for item in feed["items"]]


def build_in_process(site: Site, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """feeds build through the CLI in this process: status and stderr lines, with the seeds
    folder (shown as configured, here an absolute path) abbreviated to `seeds`."""
    status = site.main("build", "--now", NOW)
    lines = capsys.readouterr().err.splitlines()
    return status, [line.replace(str(site.seeds), "seeds", 1) for line in lines]


def age(path: bytes | Path) -> None:
    """Move a file's mtime out of the settling window (lstat: links and FIFOs too)."""
    os.utime(path, (OLD, OLD), follow_symlinks=False)


def drop_permission_override() -> None:
    """In a child before exec: give up root's power to ignore file permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_unprivileged(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a subprocess for which permission bits hold, even when the suite is root."""
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    return subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), *args],
        cwd=site.root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=drop_permission_override if os.geteuid() == 0 else None,
    )


@functools.cache
def permission_bits_hold(probe_dir: str) -> bool:
    """Whether run_unprivileged really cannot read a mode-000 file (the kernel may refuse
    to drop capabilities, e.g. without CAP_SETPCAP in a container)."""
    probe = Path(probe_dir) / "probe"
    probe.write_text("x")
    probe.chmod(0)
    try:
        result = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}).read()"],
            capture_output=True,
            timeout=60,
            preexec_fn=drop_permission_override if os.geteuid() == 0 else None,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.chmod(0o600)
        probe.unlink()
    return result.returncode != 0


@pytest.fixture
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skip (not counted as coverage) where permission bits cannot be made to hold."""
    if not permission_bits_hold(str(tmp_path_factory.mktemp("probe"))):
        pytest.skip("cannot drop root's permission override here; unreadable files untestable")


# Dates at the edges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("0001-01-01", "invalid date '0001-01-01': year outside 1000-2999"),
        ("99999-12-31", "invalid date '99999-12-31'"),
    ],
    ids=["year-1", "year-99999"],
)
def test_seed_dated_year_1_or_99999_is_skipped_with_one_line(
    site: Site, capsys: pytest.CaptureFixture[str], date: str, reason: str
) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_bad.txt", f"date {date}\n\nText.\n")
    status, lines = build_in_process(site, capsys)
    assert status == 0
    assert lines == [f"seeds/002_bad.txt: {reason}"]
    assert published_ids(site) == ["001_good"]


# Size ----------------------------------------------------------------------------------------


def test_huge_seed_is_refused_from_its_size_without_being_read(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    huge = site.seeds / "002_huge.txt"
    with open(huge, "wb") as handle:
        handle.truncate(64 * 2**30)  # sparse: 64 GiB that no build could hold in memory
    age(huge)
    status, lines = build_in_process(site, capsys)
    assert status == 0
    assert lines == [
        f"seeds/002_huge.txt: file is {64 * 2**30} bytes, larger than seeds.max_bytes (2097152)"
    ]
    assert published_ids(site) == ["001_good"]


# Things that are not regular files -----------------------------------------------------------


def test_folder_named_like_a_seed_is_walked_as_a_folder(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("x.txt/002_inside.txt", GOOD)
    age(site.seeds / "x.txt")
    status, lines = build_in_process(site, capsys)
    assert (status, lines) == (0, [])
    assert sorted(published_ids(site)) == ["001_good", "002_inside"]


def test_fifo_named_like_a_seed_is_skipped_instead_of_blocking_the_build(site: Site) -> None:
    # Reading a FIFO blocks until something writes to it: the build must not even open it.
    site.seed("001_good.txt", GOOD)
    os.mkfifo(site.seeds / "002_pipe.txt")
    age(site.seeds / "002_pipe.txt")
    result = site.run("build", "--now", NOW)  # a hang fails on the subprocess timeout
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["seeds/002_pipe.txt: not a regular file"]
    assert published_ids(site) == ["001_good"]


def test_socket_named_like_a_seed_is_skipped_with_one_line(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(site.seeds / "002_socket.txt"))
        age(site.seeds / "002_socket.txt")
        status, lines = build_in_process(site, capsys)
    assert status == 0
    assert lines == ["seeds/002_socket.txt: not a regular file"]
    assert published_ids(site) == ["001_good"]


@pytest.mark.usefixtures("unprivileged")
def test_unreadable_seed_is_skipped_with_one_line(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_secret.txt", GOOD).chmod(0)
    result = run_unprivileged(site, "build", "--now", NOW)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["seeds/002_secret.txt: cannot read: Permission denied"]
    assert published_ids(site) == ["001_good"]


@pytest.mark.usefixtures("unprivileged")
def test_unreadable_subfolder_is_skipped_with_one_line(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("locked/002_inside.txt", GOOD)
    (site.seeds / "locked").chmod(0)
    try:
        result = run_unprivileged(site, "build", "--now", NOW)
    finally:
        (site.seeds / "locked").chmod(0o755)  # so that tmp_path can be cleaned up
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["seeds/locked: cannot list folder: Permission denied"]
    assert published_ids(site) == ["001_good"]


# File names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown", "reason"),
    [
        (b"002_\xff\xfe.txt", "002_\\xff\\xfe.txt", "file name is not valid UTF-8"),
        (b"002_ctl\x01.txt", "002_ctl\\x01.txt", "file name contains control characters"),
        (
            b"002_two\nfeeds: forged line.txt",
            "002_two\\nfeeds: forged line.txt",
            "file name contains control characters",
        ),
    ],
    ids=["not-utf8", "control-character", "line-break"],
)
def test_seed_with_an_unprintable_name_is_skipped_with_one_escaped_line(
    site: Site, capsys: pytest.CaptureFixture[str], name: bytes, shown: str, reason: str
) -> None:
    site.seed("001_good.txt", GOOD)
    path = os.path.join(bytes(site.seeds), name)
    with open(path, "wb") as handle:
        handle.write(GOOD.encode())
    age(path)
    status, lines = build_in_process(site, capsys)
    assert status == 0
    assert lines == [f"seeds/{shown}: {reason}"]
    assert published_ids(site) == ["001_good"]


def test_folder_with_an_unprintable_name_is_one_line_not_one_per_file(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    folder = os.path.join(bytes(site.seeds), b"bad\xff")
    os.mkdir(folder)
    for number in range(3):
        with open(os.path.join(folder, b"%03d.txt" % number), "wb") as handle:
            handle.write(GOOD.encode())
    status, lines = build_in_process(site, capsys)
    assert status == 0
    assert lines == ["seeds/bad\\xff: file name is not valid UTF-8"]
    assert published_ids(site) == ["001_good"]


# Text that XML cannot hold as it is ----------------------------------------------------------


def test_markup_like_and_xml_illegal_text_gives_feeds_a_strict_parser_accepts(site: Site) -> None:
    site.seed(
        "001_cdata.txt",
        "date 2026-02-20\ntitle: Кінець ]]> &nbsp; & <b>жирний</b>\n\n"
        "Текст з ]]> і &nbsp; і & і \x10 і \x0b і \ufffe кінець.\n",
    )
    # A UTF-8 encoded lone surrogate is not UTF-8: this seed is refused, the other stays.
    site.seed("002_surrogate.txt", "date 2026-02-21\n\nТекст ".encode() + b"\xed\xa0\x80 end.\n")
    assert site.main("build", "--now", NOW) == 0
    feeds = sorted(site.out.rglob("*.xml"))
    assert {"rss.xml", "atom.xml"} <= {p.name for p in feeds}
    for path in feeds:
        lxml.etree.fromstring(path.read_bytes())  # strict: no recovery from malformed XML
    for name in ("rss.xml", "atom.xml"):
        root = lxml.etree.fromstring((site.out / name).read_bytes())
        titles = [t.text for t in root.iter("{*}title", "title")]
        assert "Кінець ]]> &nbsp; & <b>жирний</b>" in titles
    assert published_ids(site) == ["001_cdata"]


def test_tag_with_nothing_readable_is_text_not_a_broken_link(site: Site) -> None:
    site.seed("001_tags.txt", "date 2026-02-20\ntags: !!!, 💥, Економіка\n\nСтаття про теги.\n")
    assert site.main("build", "--now", NOW) == 0
    (page,) = (site.out / "articles").iterdir()
    html = lxml.html.document_fromstring(page.read_bytes())
    links = [a.get("href", "") for a in html.iter("a")]
    local = [href for href in links if "://" not in href and not href.startswith(("feed:", "#"))]
    for href in local:
        target = (page.parent / href).resolve()
        assert target.is_file() or (target / "index.html").is_file(), href
    assert [t.text_content() for t in html.find_class("tag")] == ["!!!", "💥", "Економіка"]
