"""Every published HTML page passes the Nu HTML checker (the W3C's validator, vnu.jar).

The jar comes from the npm package vnu-jar: FEEDS_VNU_JAR names it, else the default below.
Without it the test is skipped on a workstation and fails under CI (CI installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.digest_site import digest_toml, subscribe
from tests.test_images import png_bytes

DEFAULT_JAR = Path("/opt/vnu/node_modules/vnu-jar/build/dist/vnu.jar")


def vnu_jar() -> Path:
    jar = Path(os.environ.get("FEEDS_VNU_JAR", str(DEFAULT_JAR)))
    java = shutil.which("java")
    if jar.is_file() and java:
        return jar
    missing = f"the Nu HTML checker ({jar}) or java is missing"
    if os.environ.get("CI"):
        pytest.fail(f"{missing}: CI must install it (npm install vnu-jar into /opt/vnu)")
    pytest.skip(missing)


def representative_site(root: Path, extra: str = "") -> Site:
    """Articles with tags, sections, a local and a remote image, quotes and subheadings, and
    a digest, so that every kind of HTML page is published."""
    site = Site(root, digest_toml(2525, extra=extra))
    site.seeds.mkdir(parents=True, exist_ok=True)
    (site.seeds / "kyiv").mkdir()
    (site.seeds / "kyiv" / "photo.png").write_bytes(png_bytes())
    site.seed(
        "kyiv/metro.txt",
        "date 2026-02-16\ntitle Метро <відкрили> & «нову» станцію\ntags: Київ, Транспорт\n"
        "image: photo.png\n\nПерший абзац.\n\nПідзаголовок статті\n\n— Цитата, сказав він.\n",
    )
    site.seed(
        "bridge.txt",
        "date 2026-02-17 09:30\ntitle Міст\ntags: Київ\n"
        "image: https://cdn.example.org/bridge.jpg\n\nТекст про міст.\n",
    )
    site.seed("economy/prices.txt", "date 2026-02-18\ntags: Економіка\n\nЦіни зросли. Далі.\n")
    subscribe(site, "olena@example.org")
    assert site.main("build", "--now", "2026-02-21") == 0
    assert site.main("digest", "--dry-run", "--now", "2026-02-21") == 0
    return site


WEB = '\n[web]\nbase_url = "https://news.example.org/newsletter/"\n'


def _readers_pages(site: Site, folder: Path) -> list[str]:
    """The pages feeds web answers with (sign-up form, buttons, notes), written to files."""
    from feeds.site.templating import labels
    from feeds.web.pages import button_form, page, para, signup_form

    words = labels(site.config())
    one_click = ("List-Unsubscribe", "One-Click")
    bodies = {
        "web-form.html": signup_form("https://news.example.org/newsletter/subscribe", words),
        "web-thanks.html": para(words["thanks"]),
        "web-unsubscribe.html": button_form("u/x", words["unsubscribe_button"], one_click)
        + signup_form("s", words, words["link_expired"]),
    }
    paths = []
    for name, body in bodies.items():
        (folder / name).write_text(page("uk", words["subscribe"], body), encoding="utf-8")
        paths.append(str(folder / name))
    return paths


@pytest.mark.parametrize("extra", ["", WEB, WEB + "footer_form = true\n"])
def test_every_published_html_page_passes_the_nu_html_checker(tmp_path: Path, extra: str) -> None:
    jar = vnu_jar()
    site = representative_site(tmp_path, extra)
    pages = sorted(str(p) for p in site.out.rglob("*.html"))
    if extra:
        assert "<form" in (site.out / "subscribe.html").read_text(encoding="utf-8")
        web = tmp_path / "web"
        web.mkdir()
        pages += _readers_pages(site, web)
    assert any("/digests/" in page for page in pages)
    assert any("/tags/" in page for page in pages) and any("/articles/" in page for page in pages)
    result = subprocess.run(
        ["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine', '?')}: {m.get('message', '')}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    assert errors == [], "\n".join(errors)
