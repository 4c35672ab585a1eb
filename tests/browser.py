"""Headless Chromium for tests: screenshots and DOM dumps of real pages."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str:
    """Path of the Chromium binary (.ci/run installs Debian's chromium)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium is not installed: run `apt-get install chromium` (see .ci/run)")


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="feeds-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )


def screenshot(url: str, png: Path, width: int = 1000, height: int = 1200) -> Path:
    """Render url (file:// or http://) and save a PNG of the viewport."""
    _run([f"--screenshot={png}", f"--window-size={width},{height}", url])
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot for {url}")
    return png


def dump_dom(url: str) -> str:
    """The DOM after Chromium parsed and laid out the page, as HTML text."""
    return _run(["--dump-dom", url]).stdout


def non_blank_fraction(png: Path) -> float:
    """Share of pixels that differ from the most common (background) colour."""
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    total = sum(count for count, _ in colours)
    return 1 - max(count for count, _ in colours) / total if total else 0.0


class Tab:
    """One page of headless Chromium driven over the DevTools protocol, through
    --remote-debugging-pipe (NUL-separated JSON on fds 3 and 4): no WebSocket, no driver."""

    def __init__(self, url: str) -> None:
        import os

        to_chrome, self._writer = os.pipe()
        self._reader, from_chrome = os.pipe()
        # Moved above fd 4 first: dup2 onto a descriptor's own number keeps its close-on-exec
        # flag, and one of the two could already be the other's target.
        to_chrome, from_chrome = (_above_four(fd) for fd in (to_chrome, from_chrome))

        def wire_fds() -> None:  # in the child: Chromium reads fd 3 and writes fd 4
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self._profile = tempfile.TemporaryDirectory(
            prefix="feeds-chromium-", ignore_cleanup_errors=True
        )
        self._process = subprocess.Popen(
            [
                chromium(),
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
            ],
            preexec_fn=wire_fds,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next_id = 0
        target = self._call("Target.createTarget", {"url": url})["targetId"]
        attached = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]

    def evaluate(self, expression: str) -> object:
        """The value of a JavaScript expression in the page (None while it is loading)."""
        reply = self._call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self._session
        )
        return reply.get("result", {}).get("value")

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        import os

        try:  # a clean quit takes its helper processes along; kill only if it does not
            self._call("Browser.close", {})
            self._process.wait(timeout=10)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait(timeout=30)
        os.close(self._writer)
        os.close(self._reader)
        self._profile.cleanup()

    def __enter__(self) -> Tab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, params: dict[str, object], session: str = "") -> dict[str, Any]:
        import json
        import os

        self._next_id += 1
        message: dict[str, object] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:  # events come in between: skip to our answer
            reply = json.loads(self._message())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    def _message(self, timeout: float = 30.0) -> bytes:
        import os
        import select
        import time

        give_up = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = give_up - time.monotonic()
            if left <= 0 or not select.select([self._reader], [], [], left)[0]:
                raise RuntimeError("chromium did not answer on the DevTools pipe")
            chunk = os.read(self._reader, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return message


def _above_four(fd: int) -> int:
    """The same pipe end on a descriptor number above 4 (the original is closed)."""
    import fcntl
    import os

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved
