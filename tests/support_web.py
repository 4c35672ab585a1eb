"""Helpers for the publishing-extras tests: built sites, a WebSub hub, `feeds serve`, URLs."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import lxml.etree
import lxml.html

from tests.conftest import SITE_TOML, Site

BASE = "https://news.example.org/"
NOW = "2026-03-01"
FEED_FILES = ("rss.xml", "atom.xml", "feed.json")
ATOM = "{http://www.w3.org/2005/Atom}"


def make_site(root: Path, extra_toml: str = "") -> Site:
    """A Site with the shared test config plus extra TOML (e.g. a [feed] table)."""
    return Site(root, SITE_TOML + extra_toml)


def numbered_seeds(site: Site, count: int, *, tags: str = "") -> list[str]:
    """`count` seeds a01..aNN dated one day apart in February 2026; returns their titles."""
    titles = []
    for n in range(1, count + 1):
        title = f"Новина номер {n}"
        header = f"tags: {tags}\n" if tags else ""
        site.seed(f"a{n:02d}.txt", f"date 2026-02-{n:02d}\ntitle {title}\n{header}\nТекст {n}.\n")
        titles.append(title)
    return titles


def build(site: Site, now: str = NOW) -> None:
    """Build in-process; fail the test on a non-zero exit."""
    assert site.main("build", "--now", now) == 0


def local_path(site: Site, url: str) -> Path:
    """The publish-folder file behind an absolute site URL (folders mean index.html)."""
    assert url.startswith(BASE), url
    rel = urllib.parse.unquote(url[len(BASE) :])
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return site.out / rel


def feed_files(site: Site) -> list[Path]:
    """Every feed document in the publish folder: subscription feeds and archive pages."""
    found = [p for p in site.out.rglob("*") if p.name in FEED_FILES]
    found += sorted((site.out / "archive").glob("feed-*.xml"))
    return sorted(found)


def channels(site: Site) -> list[str]:
    """Folders holding a set of subscription feeds: '' (the site), then tags and sections."""
    groups = (str(p.parent.relative_to(site.out)) + "/" for p in site.out.glob("*/*/rss.xml"))
    return ["", *sorted(groups)]


def html_pages(site: Site) -> list[Path]:
    """Every HTML page in the publish folder."""
    return sorted(site.out.rglob("*.html"))


def parse_html(path: Path) -> lxml.html.HtmlElement:
    """An HTML page parsed by lxml."""
    return lxml.html.fromstring(path.read_bytes())


def is_absolute(url: str) -> bool:
    """True for a URL with a scheme (http:, https:, feed:, mailto:, tag:...)."""
    return bool(urllib.parse.urlsplit(url).scheme)


def html_urls(markup: str) -> list[str]:
    """Every href and src value in a fragment or document of HTML."""
    if not markup.strip():
        return []
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    return [v for el in root.iter() for k, v in el.attrib.items() if k in ("href", "src")]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Hub:
    """A WebSub hub on 127.0.0.1 that records every POST body (parsed as a form)."""

    status: int = 204
    posts: list[dict[str, list[str]]] = field(default_factory=list)
    url: str = ""

    def topics(self) -> list[str]:
        """Every hub.url announced, in order."""
        return [url for post in self.posts for url in post.get("hub.url", [])]


@contextmanager
def running_hub(status: int = 204) -> Iterator[Hub]:
    """A real http.server hub in a thread, answering `status` to every POST."""
    hub = Hub(status=status)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            hub.posts.append(urllib.parse.parse_qs(body))
            self.send_response(hub.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def raw_server(reply: bytes | None) -> Iterator[str]:
    """A TCP server that answers every connection with `reply` (None: never answers)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            if reply is None:
                held.append(conn)  # keep it open and silent until the test ends
                continue
            conn.sendall(reply)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hub"
    finally:
        stop.set()
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        listener.close()
        for conn in held:
            conn.close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Response:
    """What an HTTP GET answered."""

    status: int
    headers: dict[str, str]  # names lowercased
    body: bytes

    def header(self, name: str) -> str:
        """One header's value, whatever the case of its name; KeyError when absent."""
        return self.headers[name.lower()]


def get(url: str, headers: dict[str, str] | None = None) -> Response:
    """GET url; 3xx/4xx/5xx are answers too, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Response(response.status, _lower(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, _lower(exc.headers.items()), exc.read())


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


@contextmanager
def feeds_serve(site: Site, *extra: str, deadline: float = 20.0) -> Iterator[str]:
    """`python -m feeds serve --port P [extra...]` on the site; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feeds",
            "--config",
            str(site.config_path),
            "serve",
            "--port",
            str(port),
            *extra,
        ],
        cwd=site.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        give_up = time.monotonic() + deadline
        while True:
            try:
                get(base)
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError(f"feeds serve did not answer on {base}") from None
                time.sleep(0.05)  # polling a start-up, with a deadline; not timing
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
