"""Headless Chromium for tests: screenshots and DOM dumps of real pages."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

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
