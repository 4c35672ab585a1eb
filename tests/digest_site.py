"""Test support for the digest: a site wired to a local SMTP server, seeds at given times."""

from __future__ import annotations

from pathlib import Path

from feeds.store.backend import Conn
from feeds.store.schema import open_state
from tests.conftest import _STATE_URL, SITE_TOML, Site

FROM = "news@news.example.org"
UNSUBSCRIBE = "https://news.example.org/unsubscribe?t={token}"


def digest_toml(port: int, *, unsubscribe_url: str = UNSUBSCRIBE, extra: str = "") -> str:
    """feeds.toml for the test site, sending through 127.0.0.1:port without TLS."""
    return (
        SITE_TOML
        + f"""
[digest]
from = "Тестові новини <{FROM}>"
unsubscribe_url = "{unsubscribe_url}"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 10
"""
        + extra
        + (f'\n[state]\nurl = "{_STATE_URL[-1]}"\n' if _STATE_URL else "")
    )


def article(site: Site, stem: str, when: str, title: str | None = None) -> Path:
    """A seed dated `when` (site time unless it carries an offset)."""
    heading = title or f"Стаття {stem}"
    return site.seed(
        f"{stem}.txt",
        f"date {when}\ntitle {heading}\nsummary Короткий зміст статті {stem}.\n\n"
        f"Перший абзац статті {stem}.\n",
    )


def build(site: Site, now: str) -> None:
    """Publish the seeds as of now."""
    assert site.main("build", "--now", now) == 0


def subscribe(site: Site, *emails: str) -> None:
    """Add subscribers through the CLI."""
    for address in emails:
        assert site.main("subscribers", "add", address) == 0


def state(site: Site) -> Conn:
    """The site's state database (SQLite or PostgreSQL, as its config says)."""
    return open_state(site.config())


def digest_ids(site: Site, week: str) -> list[str]:
    """Article ids recorded for a digest, in order."""
    conn = state(site)
    try:
        return [
            str(aid)
            for (aid,) in conn.execute(
                "SELECT article_id FROM digest_articles WHERE week = ? ORDER BY position", (week,)
            )
        ]
    finally:
        conn.close()


def delivery_states(site: Site, week: str) -> dict[str, str]:
    """subscriber address -> delivery state for a digest."""
    conn = state(site)
    try:
        return {
            str(email): str(st)
            for email, st in conn.execute(
                "SELECT s.email, d.state FROM deliveries d JOIN subscribers s"
                " ON s.id = d.subscriber_id WHERE d.week = ?",
                (week,),
            )
        }
    finally:
        conn.close()
