"""feeds serve never answers with anything outside the publish folder, never lists a folder and
never breaks on a malformed path: a real server thread on 127.0.0.1, raw requests."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.web.serve import make_server
from tests.hypothesis_profiles import PROPERTY

SECRET = b"root:x:0:0:SECRET-OUTSIDE-THE-PUBLISH-FOLDER"


@dataclass(frozen=True)
class Preview:
    """A served publish folder, a secret beside it, and the server's port."""

    root: Path
    port: int
    errors: list[str]


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    base = tmp_path_factory.mktemp("preview")
    outside = base / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(SECRET)
    (outside / "index.html").write_bytes(SECRET)
    root = base / "out"
    (root / "tags" / "kyiv").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "index.html").write_bytes(b"<p>home</p>")
    (root / "rss.xml").write_bytes(b"<rss/>")
    (root / "feed.json").write_bytes(b"{}")
    (root / "tags" / "kyiv" / "index.html").write_bytes(b"<p>kyiv</p>")
    (root / ".feeds-1-1.tmp").write_bytes(b"half")
    (root / "passwd").symlink_to(outside / "passwd")
    (root / "etc").symlink_to(outside)
    (root / "rss-link.xml").symlink_to(root / "rss.xml")  # inside: fine
    os.mkfifo(root / "pipe.xml")
    server = make_server(root, "127.0.0.1", 0)
    errors: list[str] = []
    server.handle_error = lambda request, address: errors.append(str(address))  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Preview(root, server.server_address[1], errors)
    finally:
        server.shutdown()
        server.server_close()


def raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """Send `GET target HTTP/1.0` as bytes; (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (b"/passwd", 404),  # a symlinked file out of the folder
        (b"/etc/passwd", 404),  # through a symlinked folder
        (b"/etc/", 404),  # a symlinked folder's index.html
        (b"/../outside/passwd", 400),
        (b"/%2e%2e/outside/passwd", 400),
        (b"/%2E%2e%2Foutside%2Fpasswd", 400),
        (b"/tags/..%2f..%2foutside/passwd", 400),
        (b"/..%5coutside%5cpasswd", 400),
        (b"/\\..\\outside\\passwd", 400),
        (b"/rss.xml%00.html", 400),
        (b"/%00", 400),
        (b"/%ff%fe", 400),
        (b"/" + b"a" * 5000, 414),
        (b"/" + b"a/" * 200 + b"x", 404),
        (b"/" + b"%41" * 300, 404),  # a name too long for the file system
        (b"/pipe.xml", 404),
        (b"/empty/", 404),  # a folder without index.html: no listing
        (b"/.feeds-1-1.tmp", 404),
        (b"http://x/passwd", 400),
        (b"*", 400),
    ],
)
def test_a_hostile_path_never_reaches_outside_content(
    preview: Preview, target: bytes, status: int
) -> None:
    got, body = raw_get(preview.port, target)
    assert got == status
    assert SECRET not in body
    assert b"Directory listing" not in body
    assert not preview.errors


@pytest.mark.parametrize(
    ("target", "content"),
    [
        (b"/", b"<p>home</p>"),
        (b"/tags/kyiv/", b"<p>kyiv</p>"),
        (b"/tags/kyiv/index.html?x=1", b"<p>kyiv</p>"),
        (b"/rss-link.xml", b"<rss/>"),
        (b"/%72ss.xml", b"<rss/>"),
    ],
)
def test_files_and_folder_indexes_inside_the_folder_are_served(
    preview: Preview, target: bytes, content: bytes
) -> None:
    assert raw_get(preview.port, target) == (200, content)


def test_a_folder_without_its_slash_is_redirected(preview: Preview) -> None:
    with socket.create_connection(("127.0.0.1", preview.port), timeout=10) as conn:
        conn.sendall(b"GET /tags/kyiv HTTP/1.0\r\n\r\n")
        head = conn.recv(65536)
    assert head.startswith(b"HTTP/1.0 301") or head.startswith(b"HTTP/1.1 301")
    assert b"Location: /tags/kyiv/\r\n" in head


SEGMENTS = st.sampled_from(
    [
        "..",
        ".",
        "%2e%2e",
        "%2E.",
        "%2f",
        "%5c",
        "\\",
        "%00",
        "%0a",
        "%ff",
        "%",
        "%zz",
        "etc",
        "passwd",
        "outside",
        "tags",
        "kyiv",
        "index.html",
        "rss.xml",
        "pipe.xml",
        "empty",
        "",
        "Київ",
        "%D0%9A",
        "a" * 300,
        ".feeds-1-1.tmp",
        "?",
        "#",
        ";",
        "~",
    ]
)


@PROPERTY
@given(st.lists(SEGMENTS, max_size=8), st.booleans())
def test_any_path_gives_an_answer_and_never_outside_content(
    preview: Preview, segments: list[str], slash: bool
) -> None:
    target = "/" + "/".join(segments) + ("/" if slash else "")
    status, body = raw_get(preview.port, target.encode())
    assert status in (200, 301, 400, 404, 414)
    assert SECRET not in body
    if status == 200:
        files = preview.root.rglob("*")
        assert body in {p.read_bytes() for p in files if p.is_file() and not p.is_symlink()}
    assert not preview.errors
