"""The proof of issue 18: two `feeds watch` processes ("hosts", each with its own state folder
for caches) against one PostgreSQL and one bucket, while seeds change and a digest falls due:
one build at a time, every subscriber mailed once, the bucket equal to a cold local build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from feeds.mail.slots import latest_slot
from feeds.store.backend import BUILD_LOCK_NS
from tests.conftest import SITE_TOML, Site, tree
from tests.digest_site import article, digest_toml, subscribe
from tests.moto_server import Bucket
from tests.smtp_server import smtp_server

DEADLINE = 60.0
READERS = [f"reader{n:03d}@example.org" for n in range(120)]  # more than one claim (50)


def _host(root: Path, seeds: Path, toml: str) -> Site:
    """A host: its own folder and state (caches), the shared seeds, database and bucket."""
    return Site(root, toml.replace('seeds = "seeds"', f'seeds = "{seeds}"'))


def _start(site: Site) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_NOW", "FEEDS_CONFIG")}
    with open(site.root / "watch.log", "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "feeds", "--config", str(site.config_path), "watch"],
            cwd=site.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _feed_titles(bucket: Bucket) -> set[str]:
    try:
        body = bucket.client().get_object(Bucket=bucket.name, Key="feed.json")["Body"].read()
    except Exception:
        return set()
    return {item["title"] for item in json.loads(body)["items"]}


def test_two_watch_hosts_share_one_database_and_one_bucket(
    tmp_path: Path, pg_schema_url: str, s3_bucket: Bucket
) -> None:
    with smtp_server() as server:
        base = digest_toml(server.port) + f'\n[state]\nurl = "{pg_schema_url}"\n'
        toml = s3_bucket.site_toml(base)
        one = Site(tmp_path / "one", toml)
        shared = one.seeds
        two = _host(tmp_path / "two", shared, toml)
        subscribe(one, *READERS)
        tz = one.config().site.tz
        slot = latest_slot(one.config(), datetime.now(tz))
        for n in range(6):  # published before the slot: its digest is due at once
            when = slot.at - timedelta(days=1, hours=n)
            article(one, f"a{n}", when.strftime("%Y-%m-%d %H:%M"))
        server.hold_at(1)
        hosts = [_start(one), _start(two)]
        most_builders = 0
        watcher = psycopg.connect(pg_schema_url, autocommit=True)
        try:

            def until(condition: object, what: str) -> None:
                nonlocal most_builders
                deadline = time.monotonic() + DEADLINE
                while time.monotonic() < deadline:
                    holders = watcher.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND granted AND classid = %s AND objid = 1",
                        (BUILD_LOCK_NS,),
                    ).fetchone()
                    most_builders = max(most_builders, int(holders[0]) if holders else 0)
                    if callable(condition) and condition():
                        return
                    for host, site in zip(hosts, (one, two), strict=True):
                        assert host.poll() is None, (site.root / "watch.log").read_text()
                    time.sleep(0.05)
                logs = [(s.root / "watch.log").read_text() for s in (one, two)]
                raise AssertionError(f"no {what} within {DEADLINE} s: {logs}")

            # the first message's reply is withheld: the host sending it is stuck, holding
            # its claimed rows; the other host sends the rest of the digest meanwhile
            assert server.held.wait(DEADLINE)
            until(lambda: len(server.messages) >= len(READERS) - 49, "the other host's share")
            server.release()
            until(lambda: len(server.messages) == len(READERS), "digest to every reader")
            # the seeds change while both run: new articles, one removed
            for n in range(3):
                when = datetime.now(tz) - timedelta(hours=n + 1)
                article(one, f"new{n}", when.strftime("%Y-%m-%d %H:%M"))
            (shared / "a5.txt").unlink()
            until(
                lambda: {"Стаття new0", "Стаття new2"} <= _feed_titles(s3_bucket)
                and "Стаття a5" not in _feed_titles(s3_bucket),
                "the changes published",
            )
            for host in hosts:
                host.send_signal(signal.SIGTERM)
            for host in hosts:
                assert host.wait(timeout=DEADLINE) == 0
        finally:
            server.release()
            watcher.close()
            for host in hosts:
                if host.poll() is None:
                    host.kill()
                    host.wait()
        assert most_builders <= 1  # one build at a time, across the hosts
        assert sorted(server.recipients()) == READERS  # each once
        logs = [(s.root / "watch.log").read_text() for s in (one, two)]
        assert any("helped deliver" in log for log in logs), logs
        objects = s3_bucket.objects()
        digest_pages = {k for k in objects if k.startswith("digests/")}
        assert digest_pages  # the digest's web pages went up with the site
        cold = Site(tmp_path / "cold", SITE_TOML.replace('seeds = "seeds"', f'seeds = "{shared}"'))
        assert cold.main("build") == 0
        assert {k: v for k, v in objects.items() if k not in digest_pages} == tree(cold.out)


def test_a_host_killed_mid_send_leaves_at_most_one_message_in_doubt(
    tmp_path: Path, pg_schema_url: str, s3_bucket: Bucket
) -> None:
    """SIGKILL the host whose send hangs: the other takes over its claimed rows; only the
    message in doubt goes twice, with the same Message-ID."""
    with smtp_server() as server:
        toml = s3_bucket.site_toml(
            digest_toml(server.port) + f'\n[state]\nurl = "{pg_schema_url}"\n'
        )
        one = Site(tmp_path / "one", toml)
        two = _host(tmp_path / "two", one.seeds, toml)
        subscribe(one, *READERS)
        slot = latest_slot(one.config(), datetime.now(one.config().site.tz))
        article(one, "a0", (slot.at - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))
        server.hold_at(1)
        hosts = {_start(one), _start(two)}
        watcher = psycopg.connect(pg_schema_url, autocommit=True)
        try:
            assert server.held.wait(DEADLINE)
            deadline = time.monotonic() + DEADLINE
            row = None
            while row is None and time.monotonic() < deadline:  # who is sending message 1
                row = watcher.execute(
                    "SELECT a.application_name FROM deliveries d"
                    " JOIN pg_stat_activity a ON a.pid = d.claimed_by WHERE d.state = 'sending'"
                ).fetchone()
            assert row is not None
            stuck = next(h for h in hosts if h.pid == int(str(row[0]).split()[1]))
            stuck.send_signal(signal.SIGKILL)
            stuck.wait()
            server.release()
            deadline = time.monotonic() + DEADLINE
            while set(server.recipients()) != set(READERS) and time.monotonic() < deadline:
                time.sleep(0.05)
            survivor = (hosts - {stuck}).pop()
            assert survivor.poll() is None
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=DEADLINE) == 0
        finally:
            server.release()
            watcher.close()
            for host in hosts:
                if host.poll() is None:
                    host.kill()
                    host.wait()
        got = server.recipients()
        assert set(got) == set(READERS)
        twice = [r for r in READERS if got.count(r) > 1]
        assert len(got) - len(READERS) == len(twice) <= 1  # at most the one in doubt
        ids = {m.rcpt_tos[0]: set() for m in server.messages}
        for message in server.messages:
            ids[message.rcpt_tos[0]].add(_message_id(message))
        assert all(len(found) == 1 for found in ids.values())  # a re-send keeps its Message-ID


def _message_id(message: object) -> str:
    from email import message_from_bytes

    data = message.data  # type: ignore[attr-defined]
    return str(message_from_bytes(data if isinstance(data, bytes) else data.encode())["Message-ID"])
