"""feeds serve: a local preview of the publish folder with conditional GET."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import sys
from pathlib import Path


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with ETag / If-None-Match on top of Last-Modified / If-Modified-Since."""

    extensions_map = {  # noqa: RUF012  (the base class's own attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/xml; charset=utf-8",
        ".json": "application/json; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        ".eml": "message/rfc822",
        ".xsl": "text/xsl; charset=utf-8",
        ".css": "text/css; charset=utf-8",
    }

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            index = os.path.join(path, "index.html")
            if os.path.isfile(index) and self.path.split("?")[0].endswith("/"):
                path = index
        if os.path.isfile(path):
            etag = _etag(Path(path))
            match = self.headers.get("If-None-Match")
            if match and etag in [m.strip() for m in match.split(",")]:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return None
            self._etag: str | None = etag
        return super().send_head()

    def end_headers(self) -> None:
        etag = getattr(self, "_etag", None)
        if etag:
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")
            self._etag = None
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} - {format % args}\n")


def _etag(path: Path) -> str:
    st = path.stat()
    return '"' + hashlib.sha256(f"{st.st_size}-{st.st_mtime_ns}".encode()).hexdigest()[:20] + '"'


def serve(root: Path, bind: str, port: int) -> None:
    """Serve root on bind:port until Ctrl-C."""
    handler = functools.partial(PreviewHandler, directory=str(root))
    with http.server.ThreadingHTTPServer((bind, port), handler) as server:
        print(f"serving {root} on http://{bind}:{port}/ (Ctrl-C to stop)", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
