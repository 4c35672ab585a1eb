"""Digest delivery through PostgreSQL with 1 and with 2 workers (issue 18).

    python3 benchmarks/pg_digest.py [--subscribers 10000] [--articles 20] [--workers 1,2]

Starts a throw-away PostgreSQL cluster (tests/pg_cluster.py: initdb in a temp folder, a free
port; $FEEDS_TEST_PG_URL to use a running server instead) and the counting aiosmtpd server of
digest_throughput.py in its own process. For each worker count: a fresh schema, a site of N
articles built through the CLI, S subscribers imported, the 2026-W08 digest created and
queued; then W `feeds run` processes started together, one holding the build lock and
delivering, the others finding it busy and helping (SKIP LOCKED claims). Prints messages/s
from the start of the workers to the last one's exit, and the server-side rate.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
import digest_throughput as dt  # noqa: E402 (a script folder, not a package)

from feeds.config import load_config  # noqa: E402
from feeds.store import mailing as db  # noqa: E402
from feeds.store.manifest import transaction  # noqa: E402
from feeds.store.schema import open_state  # noqa: E402


@contextmanager
def postgres() -> Iterator[str]:
    """$FEEDS_TEST_PG_URL, or a throw-away cluster for the run."""
    if os.environ.get("FEEDS_TEST_PG_URL"):
        yield os.environ["FEEDS_TEST_PG_URL"]
        return
    from tests.pg_cluster import running

    with running() as cluster:
        yield cluster.url


def _schema(url: str) -> str:
    import psycopg

    name = "bench_" + secrets.token_hex(4)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{url}?options=-csearch_path%3D{name}"


def measure(
    url: str, server: dt._Server, subscribers: int, articles: int, workers: int
) -> dict[str, float]:
    """One delivery of a queued digest to `subscribers` by `workers` processes."""
    dt.WORK.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pg-digest-", dir=dt.WORK))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FEEDS_CONFIG", None)
    try:
        config = dt.write_site(root, articles, subscribers, token_url=True)
        text = config.read_text(encoding="utf-8") + f'\n[state]\nurl = "{_schema(url)}"\n'
        config.write_text(text.replace("port = 25\n", f"port = {server.port}\n"), encoding="utf-8")
        feeds = [sys.executable, "-m", "feeds", "--config", str(config), "--now", dt.NOW]
        for step in (["build"], ["subscribers", "import", str(root / "subscribers.csv")],
                     ["digest"]):  # fmt: skip
            subprocess.run([*feeds, *step], cwd=root, env=env, check=True, capture_output=True)
        conn = open_state(load_config(config))
        try:
            with transaction(conn):
                queued = db.queue_digest(conn, "2026-W08", dt.datetime.fromisoformat(dt.NOW)
                                         .astimezone())  # fmt: skip
        finally:
            conn.close()
        before, _, _, _ = server.report()
        start = time.perf_counter()
        procs = [
            subprocess.Popen([*feeds, "run"], cwd=root, env=env, stderr=subprocess.PIPE)
            for _ in range(workers)
        ]
        errors = [p.communicate()[1].decode(errors="replace") for p in procs]
        wall = time.perf_counter() - start
        count, _, span, _ = server.report()
        sent = count - before
        if sent != queued or any(p.returncode != 0 for p in procs):
            raise RuntimeError(f"{sent} of {queued} sent; {errors}")
        return {"messages": sent, "wall_s": wall, "rate": sent / wall, "span_s": span}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Measure each worker count, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    with postgres() as url:
        for workers in (int(w) for w in args.workers.split(",")):
            server = dt._Server()  # a fresh counter per run: its span is this run's
            try:
                result = measure(url, server, args.subscribers, args.articles, workers)
            finally:
                server.stop()
            print(
                f"{workers} worker(s): {result['messages']:.0f} messages in"
                f" {result['wall_s']:.2f} s = {result['rate']:.0f} messages/s"
                f" (server, first to last message: {result['span_s']:.2f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
