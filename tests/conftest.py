"""Shared fixtures: a site folder in tmp_path, seed writing, running the real CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feeds.cli.main import main
from feeds.config import Config, load_config
from feeds.store.schema import DB_NAME
from tests.moto_server import s3_bucket, s3_endpoint  # noqa: F401  fixtures
from tests.pg_cluster import pg_schema_url, pg_url  # noqa: F401  fixtures
from tests.smtp_server import SmtpTestServer, smtp_server

REPO = Path(__file__).resolve().parent.parent
SHARED_SEED = REPO / "seeds" / "000_91005bd04970e0af.txt"

SITE_TOML = """
[site]
title = "Тестові новини"
base_url = "https://news.example.org/"
language = "uk"
timezone = "Europe/Kyiv"
author = "Редакція"
description = "Новини для тестів"
id_year = 2026

[paths]
seeds = "seeds"
out = "public"
state = "state"
"""


_STATE_URL: list[str] = []  # set by both_backends while a test runs on PostgreSQL


class Site:
    """A site folder under tmp_path: feeds.toml, seeds/, public/, state/."""

    def __init__(self, root: Path, toml: str = SITE_TOML) -> None:
        self.root = root
        self.seeds = root / "seeds"
        self.out = root / "public"
        self.state = root / "state"
        self.seeds.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "feeds.toml"
        if _STATE_URL and "[state]" not in toml:  # a module run on both backends
            toml = textwrap.dedent(toml) + f'\n[state]\nurl = "{_STATE_URL[-1]}"\n'
        self.config_path.write_text(textwrap.dedent(toml), encoding="utf-8")

    def config(self) -> Config:
        """The loaded config."""
        return load_config(self.config_path)

    def seed(self, name: str, text: str | bytes) -> Path:
        """Write a seed file (text is dedented and UTF-8 encoded)."""
        path = self.seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text if isinstance(text, bytes) else textwrap.dedent(text).lstrip("\n").encode()
        path.write_bytes(data)
        # Older than the one-second settling window, so builds read it at once.
        os.utime(path, ns=(path.stat().st_mtime_ns - 5 * 10**9,) * 2)
        return path

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed CLI as a subprocess in the site folder."""
        full_env = {**os.environ, **(env or {})}
        full_env.pop("FEEDS_CONFIG", None)
        full_env.pop("FEEDS_NOW", None)
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "feeds", "--config", str(self.config_path), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=120,
        )

    def main(self, *args: str) -> int:
        """Run the CLI in-process (faster; same code path as the console script)."""
        return main(["--config", str(self.config_path), *args])


def integrity(state: Path) -> str:
    """SQLite's own check of the state database."""
    conn = sqlite3.connect(state / DB_NAME)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def tree(root: Path) -> dict[str, bytes]:
    """Every file below root (relative POSIX path) with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def seed_articles(site: Site, count: int, body: str = "Текст.") -> None:
    """Seeds 01.txt... titled "Стаття N" and dated N January 2026 ({day} in body is N)."""
    for day in range(1, count + 1):
        text = body.format(day=day)
        site.seed(f"{day:02d}.txt", f"title: Стаття {day}\ndate: 2026-01-{day:02d}\n\n{text}\n")


def clean_build(tmp_path: Path, seeds: Path, now: str) -> dict[str, bytes]:
    """What a build from scratch, in a folder of its own, makes of the seeds."""
    root = tmp_path / "reference"
    root.mkdir()
    other = Site(root, SITE_TOML.replace('seeds = "seeds"', f'seeds = "{seeds}"'))
    result = other.run("build", "--now", now)
    assert result.returncode == 0, result.stderr
    return tree(other.out)


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    """A fresh SMTP server on 127.0.0.1 (aiosmtpd), stopped after the test."""
    with smtp_server() as running:
        yield running


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """An empty site folder."""
    return Site(tmp_path)


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[[str], Site]:
    """A site folder with a custom feeds.toml."""

    def make(toml: str) -> Site:
        return Site(tmp_path, toml)

    return make


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend_site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """An empty site whose state is in SQLite (the default) or in PostgreSQL (state.url on
    a schema of its own in the session's throw-away cluster)."""
    if request.param == "sqlite":
        return Site(tmp_path)
    url = request.getfixturevalue("pg_schema_url")
    return Site(tmp_path, SITE_TOML + f'\n[state]\nurl = "{url}"\n')


@pytest.fixture(params=BACKENDS)
def both_backends(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test on each state backend: every Site it makes while on PostgreSQL gets a
    `[state] url` naming a schema of its own (a module opts in with
    `pytestmark = pytest.mark.usefixtures("both_backends")`)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    _STATE_URL.append(request.getfixturevalue("pg_schema_url"))
    try:
        yield "postgresql"
    finally:
        _STATE_URL.pop()
