"""feeds serve: a local preview of the publish folder with conditional GET.

Only regular files that resolve inside the publish folder are served: a symlink (to a file or
a folder) that leads out of it, a FIFO or a device is 404, a folder serves its index.html or
404 (never a listing), and a path that cannot name a file (bad %-encoding, NUL or other control
characters, a backslash, a `.` or `..` segment) is 400.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import os
import stat
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_PATH = 2048  # characters of the request path: anything longer is refused (414)

CONTENT_TYPES = {
    # RSS and Atom stay an XML type: browsers render them with feed.xsl instead of downloading.
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".eml": "message/rfc822",
    ".xsl": "text/xsl; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}
# JSON Feed 1.1 names its own media type; other JSON stays application/json.
FEED_JSON_TYPE = "application/feed+json; charset=utf-8"


@dataclass(frozen=True)
class Target:
    """What a request path names: a file to serve, a redirect, or an error status."""

    status: int
    file: Path | None = None
    location: str = ""


def resolve(root: Path, raw: str) -> Target:
    """Map a request target to a regular file inside root (root already resolved)."""
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if len(path) > MAX_PATH:
        return Target(414)
    if not path.startswith("/"):
        return Target(400)
    try:
        text = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return Target(400)
    if any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        return Target(400)
    parts = [part for part in text.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return Target(400)
    if any(part.startswith(".") for part in parts):
        return Target(404)  # dotfiles: temp files of a build in progress, never content
    try:
        found = root.joinpath(*parts).resolve(strict=True)
        mode = found.stat().st_mode
    except (OSError, RuntimeError):  # missing, a loop, a name too long for the system
        return Target(404)
    if not found.is_relative_to(root):
        return Target(404)
    if stat.S_ISDIR(mode):
        if not text.endswith("/"):
            return Target(301, location=urllib.parse.quote(text + "/"))
        return resolve(root, path + "index.html")
    if not stat.S_ISREG(mode):
        return Target(404)
    return Target(200, file=found)


def etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or any listed tag equal to etag by weak comparison."""
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def content_type(path: Path) -> str:
    """The media type served for a publish-folder file."""
    if path.name == "feed.json":
        return FEED_JSON_TYPE
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


class PreviewHandler(http.server.BaseHTTPRequestHandler):
    """GET and HEAD of the publish folder, with ETag and Last-Modified validators."""

    root: Path  # set on the subclass made by make_server()

    def do_GET(self) -> None:
        """Send the file, or the status its path calls for."""
        body = self._head()
        if body is not None:
            with body:
                self._copy(body)

    def do_HEAD(self) -> None:
        """Headers only."""
        body = self._head()
        if body is not None:
            body.close()

    def _head(self) -> BinaryIO | None:
        target = resolve(self.root, self.path)
        if target.status == 301:
            self.send_response(301)
            self.send_header("Location", target.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if target.file is None:
            self.send_error(target.status)
            return None
        try:
            # O_NONBLOCK: a file swapped for a FIFO since resolve() must not hang the thread.
            fd = os.open(target.file, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            self.send_error(404)
            return None
        body = os.fdopen(fd, "rb")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            body.close()
            self.send_error(404)
            return None
        etag = _etag(st)
        if self._not_modified(etag, st.st_mtime):
            body.close()
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return None
        self.send_response(200)
        self.send_header("Content-Type", content_type(target.file))
        self.send_header("Content-Length", str(st.st_size))
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        return body

    def _not_modified(self, etag: str, mtime: float) -> bool:
        """If-None-Match decides when present (RFC 9110 13.2.2); else If-Modified-Since."""
        match = self.headers.get("If-None-Match")
        if match is not None:
            return etag_matches(match, etag)
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            when = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return when.tzinfo is not None and int(mtime) <= when.timestamp()

    def _copy(self, body: BinaryIO) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := body.read(65536):
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: object) -> None:
        line = (format % args).encode("ascii", "backslashreplace").decode("ascii")
        escaped = "".join(ch if " " <= ch < "\x7f" else f"\\x{ord(ch):02x}" for ch in line)
        sys.stderr.write(f"{self.address_string()} - {escaped}\n")


def _etag(st: os.stat_result) -> str:
    return '"' + hashlib.sha256(f"{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()[:20] + '"'


def make_server(root: Path, bind: str, port: int) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for root (port 0 picks a free one); the caller serves it."""
    handler = type("Handler", (PreviewHandler,), {"root": root.resolve()})
    server = http.server.ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    return server


def serve(root: Path, bind: str, port: int) -> None:
    """Serve root on bind:port until Ctrl-C."""
    with make_server(root, bind, port) as server:
        print(f"serving {root} on http://{bind}:{port}/ (Ctrl-C to stop)", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
