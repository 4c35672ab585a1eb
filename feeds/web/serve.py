"""feeds serve: a local preview of the publish folder with conditional GET.

Only regular files that resolve inside the publish folder are served: a symlink (to a file or
a folder) that leads out of it, a FIFO or a device is 404, a folder serves its index.html or
404 (never a listing), and a path that cannot name a file (bad %-encoding, NUL or other control
characters, a backslash, a `.` or `..` segment) is 400.

In a live preview (`feeds serve --watch`, feeds.web.preview) the same server also answers
EVENTS_PATH with Server-Sent Events, one after every completed rebuild, and adds RELOAD_SCRIPT
to the HTML pages it sends, which reloads the page on that event. A plain `feeds serve` does
neither: it sends the files' bytes as they are.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.server
import io
import os
import re
import stat
import sys
import threading
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


EVENTS_PATH = "/__feeds/events"
KEEPALIVE_SECONDS = 15.0  # an SSE comment this often finds closed connections
# `since` is the rebuild the page came from: a rebuild that ends before the page connects
# still reloads it. Reconnects after a server restart are left to EventSource's retry.
RELOAD_SCRIPT = (
    '<script>/* feeds live preview */(function(){{var s=new EventSource("{path}?since={gen}");'
    "s.onmessage=function(){{s.close();location.reload();}};}})();</script>"
)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


class LiveReload:
    """The number of completed rebuilds, which SSE handlers wait on."""

    def __init__(self) -> None:
        self.generation = 0
        self.closed = False
        self._changed = threading.Condition()

    def bump(self) -> None:
        """A rebuild completed: every open page reloads."""
        with self._changed:
            self.generation += 1
            self._changed.notify_all()

    def close(self) -> None:
        """The preview is stopping: release every waiting handler."""
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_newer(self, since: int, timeout: float) -> int:
        """The generation, once it is past since (or when timeout passed, or closed)."""
        with self._changed:
            self._changed.wait_for(lambda: self.generation > since or self.closed, timeout)
            return self.generation


def inject_reload(html: bytes, generation: int) -> bytes:
    """The page with RELOAD_SCRIPT before its last </body> (at its end if it has none)."""
    script = RELOAD_SCRIPT.format(path=EVENTS_PATH, gen=generation).encode("ascii")
    ends = list(_BODY_END.finditer(html))
    at = ends[-1].start() if ends else len(html)
    return html[:at] + script + html[at:]


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
    live: LiveReload | None = None  # set in a live preview only

    def do_GET(self) -> None:
        """Send the file, or the status its path calls for."""
        if self.live is not None and self.path.split("?", 1)[0] == EVENTS_PATH:
            self._events(self.live)
            return
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
        if self.live is not None and target.file.suffix.lower() == ".html":
            with body:
                return self._injected(body.read(), self.live.generation)
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

    def _injected(self, html: bytes, generation: int) -> BinaryIO:
        """A preview page with the reload script: never cached, so a reload gets the new one."""
        data = inject_reload(html, generation)
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPES[".html"])
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return io.BytesIO(data)

    def _events(self, live: LiveReload) -> None:
        """Server-Sent Events: one `data:` line once a rebuild newer than `since` completes."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            since = int(query.get("since", [""])[0])
        except ValueError:
            since = live.generation
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        with contextlib.suppress(ConnectionError):
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while not live.closed:
                generation = live.wait_newer(since, KEEPALIVE_SECONDS)
                if generation > since:
                    self.wfile.write(f"data: {generation}\n\n".encode())
                    self.wfile.flush()
                    return
                self.wfile.write(b": keepalive\n\n")
                self.wfile.flush()

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


def make_server(
    root: Path, bind: str, port: int, live: LiveReload | None = None
) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for root (port 0 picks a free one); the caller serves it.

    With live, pages carry the reload script and EVENTS_PATH announces rebuilds.
    """
    handler = type("Handler", (PreviewHandler,), {"root": root.resolve(), "live": live})
    server = http.server.ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    return server


def serve(root: Path, bind: str, port: int) -> None:
    """Serve root on bind:port until Ctrl-C."""
    with make_server(root, bind, port) as server:
        print(f"serving {root} on http://{bind}:{port}/ (Ctrl-C to stop)", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
