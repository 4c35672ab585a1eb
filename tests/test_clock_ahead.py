"""A clock set ahead of the real one (--now, FEEDS_NOW) never reaches subscribers or the
configured publish folder, nor leaves a future in the state database (SPEC 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.mail.slots import latest_slot
from feeds.store.schema import DB_NAME
from tests.conftest import Site, tree
from tests.digest_site import article, digest_toml, state, subscribe
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

READERS = ("olena@example.org", "taras@example.org")


def ahead(days: int = 20) -> str:
    """A moment `days` after the real clock, as --now / FEEDS_NOW take it (UTC)."""
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M+00:00")


@pytest.fixture
def mail_site(tmp_path: Path, server: SmtpTestServer) -> Site:
    """A site with two subscribers, an article dated a minute ago and one due in a week."""
    site = Site(tmp_path, digest_toml(server.port))
    subscribe(site, *READERS)
    recent = datetime.now(UTC) - timedelta(minutes=1)
    article(site, "recent", recent.strftime("%Y-%m-%d %H:%M+00:00"))
    article(site, "future", (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d %H:%M"))
    return site


def digests_and_published(site: Site) -> tuple[list[str], list[str]]:
    """What the state database recorded: digest weeks and published article ids."""
    if not site.config().state.url and not (site.state / DB_NAME).exists():
        return [], []
    conn = state(site)
    try:
        weeks = [row[0] for row in conn.execute("SELECT week FROM digests")]
        published = [row[0] for row in conn.execute("SELECT article_id FROM published")]
    finally:
        conn.close()
    return weeks, published


@pytest.mark.parametrize(
    "command", [["run"], ["build"], ["digest", "--send"]], ids=["run", "build", "digest-send"]
)
def test_a_clock_ahead_is_refused_with_exit_2_and_changes_nothing(
    mail_site: Site, server: SmtpTestServer, command: list[str]
) -> None:
    done = mail_site.run(*command, env={"FEEDS_NOW": ahead()})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "ahead of the real clock" in lines[0], lines
    assert not mail_site.out.exists()
    assert server.messages == []
    assert digests_and_published(mail_site) == ([], [])


def test_a_clock_ahead_builds_into_an_out_folder_of_its_own(
    mail_site: Site, tmp_path: Path
) -> None:
    preview = tmp_path / "preview"
    done = mail_site.run("build", "--out", str(preview), "--now", ahead())
    assert done.returncode == 0, done.stderr
    assert "future" in (preview / "feed.json").read_text(encoding="utf-8")
    assert not mail_site.out.exists()
    # The real state neither publishes the future article nor keeps its slug.
    assert digests_and_published(mail_site) == ([], [])


def test_an_out_folder_inside_the_configured_one_is_not_elsewhere(mail_site: Site) -> None:
    done = mail_site.run("build", "--out", str(mail_site.out / "sub"), "--now", ahead())
    assert done.returncode == 2, done.stderr
    assert not mail_site.out.exists()


def test_a_digest_dry_run_with_the_clock_ahead_writes_and_sends_nothing(
    mail_site: Site, server: SmtpTestServer
) -> None:
    assert mail_site.main("build") == 0  # the real clock: publishes only the recent article
    before = tree(mail_site.out)
    # An hour after the next send slot: that digest would hold the recent article.
    config = mail_site.config()
    slot = latest_slot(config, datetime.now(UTC) + timedelta(days=7)).at
    then = (slot + timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M+00:00")
    done = mail_site.run("digest", "--dry-run", "-v", env={"FEEDS_NOW": then})
    assert done.returncode == 0, done.stderr
    assert "1 article; written" in done.stderr  # it did look at the future
    assert tree(mail_site.out) == before
    assert server.messages == []
    weeks, _ = digests_and_published(mail_site)
    assert weeks == []  # no future week recorded to hold back the real digests


def test_a_clock_set_in_the_past_is_allowed(mail_site: Site, server: SmtpTestServer) -> None:
    assert mail_site.main("build", "--now", "2026-03-01") == 0
    assert mail_site.out.is_dir()


def test_a_clock_within_the_tolerance_counts_as_the_real_one(mail_site: Site) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert mail_site.main("build", "--now", soon) == 0
