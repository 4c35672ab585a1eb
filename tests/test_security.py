"""Security properties of the publish folder (SPEC 3, 5): escaping, link schemes, paths,
file modes, secrets and where the state lives."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest

from feeds.config import Config
from feeds.site.templating import PACKAGE_TEMPLATES, make_env
from tests.conftest import Site, tree

NOW = "2026-03-01T12:00"
SECRET = "s3cret-Pa55word-never-shown"


def links_in(out: Path) -> list[str]:
    """Every href and src of every HTML page."""
    found: list[str] = []
    for path in out.rglob("*.html"):
        page = lxml.html.document_fromstring(path.read_bytes())
        for element in page.iter():
            if isinstance(element.tag, str):
                found += [v for k, v in element.attrib.items() if k in ("href", "src", "content")]
    return found


# Escaping ------------------------------------------------------------------------------------


def test_templates_never_mark_text_safe_or_turn_autoescape_off() -> None:
    offenders = [
        f"{path.name}: {line.strip()}"
        for path in PACKAGE_TEMPLATES.rglob("*")
        if path.is_file() and path.suffix in (".html", ".xml", ".xsl", ".txt")
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", line)
    ]
    assert offenders == []


def test_the_template_environment_autoescapes_every_page() -> None:
    env = make_env(Config())
    template = env.from_string("{{ text }}")
    assert template.render(text='<script>"x"</script>') == (
        "&lt;script&gt;&#34;x&#34;&lt;/script&gt;"
    )


HOSTILE_TOML = """
[site]
title = "<script>alert(1)</script> & News"
description = "\\"><img src=x onerror=alert(1)>"
author = "<b id=pwn>Editor</b>"
[paths]
seeds = "seeds"
out = "public"
state = "state"
"""


def test_config_text_never_becomes_markup(make_site: Callable[[str], Site]) -> None:
    site = make_site(HOSTILE_TOML)
    site.seed("001.txt", "date 2026-02-20\ntags: Економіка\n\nСтаття про щось важливе.\n")
    assert site.main("build", "--now", NOW) == 0
    for path in site.out.rglob("*.html"):
        page = lxml.html.document_fromstring(path.read_bytes())
        tags = {e.tag for e in page.iter() if isinstance(e.tag, str)}
        assert not tags & {"script", "img", "b"}, path
        attributes = {k for e in page.iter() if isinstance(e.tag, str) for k in e.attrib}
        assert not {a for a in attributes if a.startswith("onerror")}, path
    index = lxml.html.document_fromstring((site.out / "index.html").read_bytes())
    assert "<script>alert(1)</script> & News" in index.findtext(".//title")
    rss = lxml.etree.fromstring((site.out / "rss.xml").read_bytes())
    assert rss.findtext("channel/title") == "<script>alert(1)</script> & News"


# Links ---------------------------------------------------------------------------------------


def test_links_from_seeds_are_only_http_or_https(site: Site) -> None:
    site.seed(
        "001.txt",
        "date 2026-02-20\nimage: javascript:alert(1)\n\n"
        "Посилання javascript:alert(1) data:text/html,<script>x</script> vbscript:msgbox "
        "file:///etc/passwd та https://example.org/ok і http://example.org/also.\n",
    )
    site.seed("002.txt", "date 2026-02-21\nimage: data:image/png;base64,AAAA\n\nДругий текст.\n")
    assert site.main("build", "--now", NOW) == 0
    schemes = {urlsplit(value.strip()).scheme.lower() for value in links_in(site.out)}
    assert schemes <= {"", "http", "https", "mailto", "feed"}, schemes
    pages = b"".join(tree(site.out).values())
    assert b'href="javascript' not in pages and b'src="data' not in pages


# Paths ---------------------------------------------------------------------------------------


def test_no_path_from_a_seed_leaves_the_publish_folder(site: Site, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG secret image bytes")
    site.seed(
        "001.txt",
        "date 2026-02-20\nslug: ../../../escaped\ntags: ../../escaped, .., /etc/cron.d\n"
        "image: ../../outside.png\n\nСтаття, що намагається вийти за межі.\n",
    )
    site.seed(
        "sub/002.txt", "date 2026-02-21\nslug: /etc/passwd\nimage: ../../../outside.png\n\nТекст.\n"
    )
    before = {p for p in tmp_path.rglob("*") if not p.is_relative_to(site.out)}
    assert site.main("build", "--now", NOW) == 0
    after = {p for p in tmp_path.rglob("*") if not p.is_relative_to(site.out)}
    created = {p.relative_to(tmp_path).as_posix() for p in after - before}
    compiled = {rel for rel in created if rel.startswith("state/jinja/__jinja2_")}
    assert created - compiled <= {
        "state",
        "state/feeds.sqlite3",
        "state/feeds.sqlite3-wal",
        "state/feeds.sqlite3-shm",
        "state/lock",
        "state/jinja",  # compiled templates, a cache
        "state/snapshot-0.bin",  # the last build's view of the seeds, a cache
    }
    files = tree(site.out)
    assert all(".." not in rel.split("/") for rel in files)
    assert all(b"secret image bytes" not in data for data in files.values())
    assert sorted(p.name for p in (site.out / "articles").iterdir()) == [
        "escaped.html",
        "etc-passwd.html",
    ]


# File modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o077, 0o000, 0o027], ids=["077", "000", "027"])
def test_files_are_0644_and_folders_0755_whatever_the_umask(site: Site, umask: int) -> None:
    site.seed("001.txt", "date 2026-02-20\ntags: Економіка\n\nСтаття про щось важливе.\n")
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "build", "--now", NOW],
        cwd=site.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(umask) and None,
    )
    assert result.returncode == 0, result.stderr
    modes = {
        p.relative_to(site.out).as_posix(): p.stat().st_mode & 0o777
        for p in [site.out, *site.out.rglob("*")]
    }
    wrong = {
        rel: oct(mode)
        for rel, mode in modes.items()
        if mode != (0o755 if (site.out / rel).is_dir() else 0o644)
    }
    assert wrong == {}


# Secrets and state ---------------------------------------------------------------------------


def test_the_smtp_password_is_never_shown_by_help_or_a_verbose_build(site: Site) -> None:
    site.seed("001.txt", "date 2026-02-20\n\nСтаття про щось важливе.\n")
    env = {"FEEDS_SMTP_PASSWORD": SECRET}
    commands = [["--help"], ["-vv", "build", "--now", NOW]] + [
        [name, "--help"]
        for name in ("init", "build", "check", "digest", "run", "watch", "serve", "subscribers")
    ]
    for args in commands:
        result = site.run(*args, env=env)
        assert SECRET not in result.stdout + result.stderr, args
    with sqlite3.connect(site.state / "feeds.sqlite3") as conn:
        dump = "\n".join(conn.iterdump())
    assert SECRET not in dump


def test_the_state_database_is_never_in_the_publish_folder(site: Site) -> None:
    site.seed("001.txt", "date 2026-02-20\n\nСтаття про щось важливе.\n")
    assert site.main("build", "--now", NOW) == 0
    names = {p.name for p in site.out.rglob("*")}
    assert not {n for n in names if "sqlite" in n or n == "lock"}


def test_a_publish_folder_around_the_state_folder_is_refused(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001.txt", "date 2026-02-20\n\nСтаття про щось важливе.\n")
    assert site.main("build", "--out", str(site.root), "--now", NOW) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "must not be inside the publish folder" in line
    assert not (site.root / "index.html").exists()
