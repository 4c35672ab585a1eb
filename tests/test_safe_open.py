"""Every read under the seeds folder goes through feeds.read.safe_open (SPEC 2: a symlink that
points outside the seeds folder is refused): the check and the read concern one open file,
so a file swapped for a symlink while a build runs never publishes what it points at."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.errors import SeedError
from feeds.publish.build import build
from feeds.read.dates import parse_now
from feeds.read.safe_open import MAX_HOPS, read_file, stat_file
from feeds.store.schema import connect
from tests.conftest import Site, tree
from tests.hypothesis_profiles import PROPERTY

LIMIT = 1 << 20


def read(root: Path, rel: str) -> bytes:
    return read_file(root, rel, LIMIT, "seeds.max_bytes")


def refusal(root: Path, rel: str) -> str:
    with pytest.raises(SeedError) as caught:
        read(root, rel)
    assert caught.value.path == rel
    return caught.value.reason


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """seeds/ with a.txt and sub/b.txt; beside it outside/secret.txt."""
    seeds = tmp_path / "seeds"
    (seeds / "sub").mkdir(parents=True)
    (seeds / "a.txt").write_bytes(b"A")
    (seeds / "sub" / "b.txt").write_bytes(b"B")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(b"SECRET")
    return seeds


def test_a_plain_file_and_one_in_a_subfolder_are_read(root: Path) -> None:
    assert (read(root, "a.txt"), read(root, "sub/b.txt")) == (b"A", b"B")
    assert stat_file(root, "sub/b.txt").st_size == 1


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("rel.txt", "a.txt"),
        ("sub/up.txt", "../a.txt"),
        ("sub/abs.txt", "{root}/a.txt"),
        ("chain.txt", "rel.txt"),
    ],
)
def test_symlinks_that_stay_inside_are_followed(root: Path, link: str, target: str) -> None:
    (root / "rel.txt").symlink_to("a.txt")
    if link != "rel.txt":
        (root / link).symlink_to(target.format(root=root))
    assert read(root, link) == b"A"


def test_a_symlinked_folder_inside_is_followed(root: Path) -> None:
    (root / "alias").symlink_to("sub", target_is_directory=True)
    assert read(root, "alias/b.txt") == b"B"
    assert read(root, "alias/../a.txt") == b"A"


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("out.txt", "{outside}/secret.txt"),
        ("rel.txt", "../outside/secret.txt"),
        ("sub/deep.txt", "../../outside/secret.txt"),
        ("sub/dot.txt", "./../../outside/secret.txt"),
    ],
)
def test_symlinks_that_leave_are_refused(root: Path, link: str, target: str) -> None:
    (root / link).symlink_to(target.format(outside=root.parent / "outside"))
    assert refusal(root, link) == "symlink points outside the seeds folder"


def test_a_symlinked_folder_that_leaves_is_refused(root: Path) -> None:
    (root / "sub" / "out").symlink_to(root.parent / "outside", target_is_directory=True)
    (root / "rel").symlink_to("../outside", target_is_directory=True)
    assert refusal(root, "sub/out/secret.txt") == "symlink points outside the seeds folder"
    assert refusal(root, "rel/secret.txt") == "symlink points outside the seeds folder"


def test_dotdot_out_of_the_folder_is_refused(root: Path) -> None:
    assert refusal(root, "../outside/secret.txt") == "path leaves the seeds folder"
    assert refusal(root, "sub/../../outside/secret.txt") == "path leaves the seeds folder"
    assert refusal(root, "/etc/passwd") == "path leaves the seeds folder"


def test_symlink_loops_are_refused(root: Path) -> None:
    (root / "one.txt").symlink_to("two.txt")
    (root / "two.txt").symlink_to("one.txt")
    (root / "sub" / "self").symlink_to(".", target_is_directory=True)
    assert refusal(root, "one.txt") == "too many levels of symlinks"
    deep = "/".join(["sub"] + ["self"] * (MAX_HOPS + 1) + ["b.txt"])
    assert refusal(root, deep) == "too many levels of symlinks"


def test_a_fifo_is_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe.txt")
    (root / "to-pipe.txt").symlink_to("pipe.txt")
    assert refusal(root, "pipe.txt") == "not a regular file"  # no writer: it would block
    assert refusal(root, "to-pipe.txt") == "not a regular file"


def test_a_socket_a_device_and_a_folder_are_refused(root: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(root / "sock.txt"))
        assert refusal(root, "sock.txt") == "not a regular file"
    finally:
        listener.close()
    assert refusal(Path("/dev"), "null") == "not a regular file"  # a character device
    assert refusal(root, "sub") == "is a folder, not a file"
    assert refusal(root, "a.txt/more") == "a folder on its path is a file"
    assert refusal(root, "missing.txt") == "cannot read: No such file or directory"


def test_a_file_over_the_limit_is_refused_from_its_size(root: Path) -> None:
    (root / "big.txt").write_bytes(b"x" * 11)
    with pytest.raises(SeedError, match=r"file is 11 bytes, larger than seeds.max_bytes \(10\)"):
        read_file(root, "big.txt", 10, "seeds.max_bytes")


# A property: whatever the tree of files, folders and symlinks, a read gives exactly the
# bytes of the file the path really leads to when that is a regular file inside the
# folder, and otherwise one refusal; never anything from outside.

NAMES = ["x", "y", "d"]
TARGETS = [
    "x",
    "y",
    "d",
    "d/x",
    "d/y",
    ".",
    "..",
    "../x",
    "../d/y",
    "{root}/d/x",
    "{root}/y",
    "../outside/secret",
    "../../outside/secret",
    "{outside}/secret",
    "{outside}",
]
ENTRY = st.one_of(
    st.just(("absent", "")),
    st.just(("file", "")),
    st.just(("folder", "")),
    st.tuples(st.just("link"), st.sampled_from(TARGETS)),
)


@PROPERTY
@given(
    layout=st.fixed_dictionaries({name: ENTRY for name in ["x", "y", "d", "d/x", "d/y"]}),
    query=st.lists(st.sampled_from([*NAMES, "..", "."]), min_size=1, max_size=4),
)
def test_a_read_gives_the_real_file_inside_or_one_refusal(
    tmp_path_factory: pytest.TempPathFactory, layout: dict[str, tuple[str, str]], query: list[str]
) -> None:
    base = tmp_path_factory.mktemp("tree")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    (outside / "d").mkdir(parents=True)
    (outside / "secret").write_bytes(b"SECRET")
    (outside / "d" / "x").write_bytes(b"SECRET")
    for rel in sorted(layout, key=lambda name: name.count("/")):  # folders before their files
        kind, target = layout[rel]
        if rel.startswith("d/") and layout["d"][0] != "folder":
            continue  # "d" is not a real folder in this layout
        path = root / rel
        if kind == "file":
            path.write_bytes(f"file {rel}".encode())
        elif kind == "folder":
            path.mkdir()
        elif kind == "link":
            path.symlink_to(target.format(root=root, outside=outside))
    rel = "/".join(query)
    # The kernel's own resolution says whether the path leads to a file; realpath where.
    real = Path(os.path.realpath(root / rel))
    expected = None
    if (root / rel).is_file() and root in real.parents:
        expected = real.read_bytes()
    try:
        got = read(root, rel)
    except SeedError as exc:
        assert exc.path == rel
        got = None
    assert got == expected
    assert got is None or b"SECRET" not in got


# The race of issue 13.3: a seed and an image flip between a regular file and a symlink to
# a file outside the seeds folder thousands of times while builds run.

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
MARKER = "СЕКРЕТ-7f3a9"
OLD_NS = 1_700_000_000 * 10**9


def _flipper(folder: Path, name: str, regular: bytes, secret: Path, stop: threading.Event) -> int:
    """Swap folder/name between a regular file (old mtime, so it counts as settled) and a
    symlink to secret, atomically each time, until stop is set; how many swaps."""
    flips = 0
    staging = folder / f".{name}.flip"
    while not stop.is_set():
        staging.write_bytes(regular)
        os.utime(staging, ns=(OLD_NS, OLD_NS + flips))
        os.replace(staging, folder / name)
        staging.symlink_to(secret)
        os.replace(staging, folder / name)
        flips += 2
    return flips


def test_seeds_and_images_swapped_for_symlinks_out_never_publish_the_outside_file(
    site: Site, tmp_path: Path
) -> None:
    secret_seed = tmp_path / "secret.txt"
    secret_seed.write_text(f"title: Таємниця\ndate: 2026-02-01\n\n{MARKER} текст.\n", "utf-8")
    secret_png = tmp_path / "secret.png"
    secret_png.write_bytes(PNG + MARKER.encode())
    site.seed("plain.txt", "title: Звичайна\ndate: 2026-02-02\n\nТекст.\n")
    site.seed("photo.txt", "title: Фото\ndate: 2026-02-03\nimage: pic.png\n\nТекст.\n")
    safe_seed = b"title: Flip\ndate: 2026-02-04\n\nSafe text.\n"
    config = site.config()
    stop = threading.Event()
    counts: list[int] = []

    def flip(name: str, regular: bytes, secret: Path) -> None:
        counts.append(_flipper(site.seeds, name, regular, secret, stop))

    threads = [
        threading.Thread(target=flip, args=("flip.txt", safe_seed, secret_seed)),
        threading.Thread(target=flip, args=("pic.png", PNG, secret_png)),
    ]
    for thread in threads:
        thread.start()
    builds = safe_seen = image_seen = 0
    now = parse_now("2026-03-01T12:00", config.site.tz)
    deadline = time.monotonic() + 4.0
    conn = connect(config.paths.state)
    try:
        while builds < 60 and time.monotonic() < deadline:
            build(config, now, conn)
            builds += 1
            published = tree(site.out)
            leaked = [rel for rel, data in published.items() if MARKER.encode() in data]
            assert leaked == [], f"build {builds} published the outside file as {leaked}"
            safe_seen += "articles/flip.html" in published
            image_seen += published.get("media/photo/pic.png") == PNG
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        conn.close()
    print(f"{builds} builds, {sum(counts)} swaps, flip page {safe_seen}, image {image_seen}")
    assert sum(counts) >= 1000
    assert safe_seen and image_seen, "the race never let a read through: the test proved nothing"
