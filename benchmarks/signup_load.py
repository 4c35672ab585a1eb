"""Sign-up load: POST subscribe from many concurrent keep-alive clients against `feeds web`
while `feeds run` sends a digest from the same state; checks no sign-up is lost or doubled.

    python benchmarks/signup_load.py [--requests 2000] [--concurrency 50] [--digest 2000]

Everything is real: `feeds web` (uvicorn, one worker) and `feeds run` as processes, an aiosmtpd
server on 127.0.0.1 taking the digest and the confirmation mails. The client is a minimal
asyncio HTTP/1.1 keep-alive client: httpx costs several times the server's CPU per request,
and on a small machine the client, not the server, would be measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WARM_UP = 50


class Sink:
    """An SMTP server that counts what it accepts, per recipient."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_site(root: Path, web_port: int, smtp_port: int, readers: int) -> None:
    """A site with one article in the digest that is due, and `readers` subscribers."""
    zone = ZoneInfo("UTC")
    yesterday = datetime.now(zone) - timedelta(days=1)
    (root / "seeds").mkdir(parents=True)
    (root / "feeds.toml").write_text(
        f"""[site]
title = "Bench"
base_url = "https://bench.example.org/"
[digest]
from = "news@bench.example.org"
weekday = "{WEEKDAYS[yesterday.weekday()]}"
time = "00:00"
[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
[web]
base_url = "http://127.0.0.1:{web_port}/newsletter/"
signups_per_hour = 10
""",
        encoding="utf-8",
    )
    day = datetime.now(zone) - timedelta(days=3)
    (root / "seeds" / "a.txt").write_text(f"date {day:%Y-%m-%d}\ntitle A\n\nText.\n")
    csv = root / "readers.csv"
    csv.write_text("email\n" + "".join(f"reader{i}@example.net\n" for i in range(readers)))
    feeds(root, "build")
    feeds(root, "subscribers", "import", str(csv))


def feeds(root: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "feeds", *args], cwd=root, check=True)


async def hammer(base: str, first: int, total: int, concurrency: int) -> tuple[float, list[int]]:
    """total sign-ups from `concurrency` keep-alive connections; 8 per client address."""
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(first, first + total):
        queue.put_nowait(i)
    codes: list[int] = []

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while not queue.empty():
            i = queue.get_nowait()
            body = urlencode({"email": f"new{i}@example.org", "name": f"N {i}"}).encode()
            client = f"198.19.{(i // 8) // 250}.{(i // 8) % 250 + 1}"
            head = (
                f"POST {parts.path}subscribe HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"Origin: {origin}\r\nX-Forwarded-For: {client}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            codes.append(int(status.split()[1]))
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, codes


def wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("feeds web did not start") from None
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--digest", type=int, default=2000, help="subscribers of the digest")
    args = parser.parse_args()
    sink = Sink()
    smtp_port, web_port = free_port(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {**os.environ, "FEEDS_WEB_SECRET": "bench"}
    env.pop("FEEDS_NOW", None)
    with tempfile.TemporaryDirectory(prefix="feeds-signup-") as tmp:
        root = Path(tmp)
        make_site(root, web_port, smtp_port, args.digest)
        web = subprocess.Popen(
            [sys.executable, "-m", "feeds", "web", "--port", str(web_port)], cwd=root, env=env
        )
        try:
            wait_listening(web_port, web)
            base = f"http://127.0.0.1:{web_port}/newsletter/"
            asyncio.run(hammer(base, 0, WARM_UP, 10))
            run = subprocess.Popen([sys.executable, "-m", "feeds", "run"], cwd=root, env=env)
            elapsed, codes = asyncio.run(hammer(base, WARM_UP, args.requests, args.concurrency))
            digest_running_at_end = run.poll() is None
            run.wait(600)
        finally:
            web.terminate()
            web.wait(60)
            controller.stop()
        conn = sqlite3.connect(root / ".feeds-state" / "feeds.sqlite3")
        stored = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT email) FROM subscribers WHERE email LIKE 'new%'"
        ).fetchone()
        queued = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT subscriber_id) FROM outbox"
        ).fetchone()
        sent = conn.execute("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'").fetchone()[0]
        conn.close()
    expected = args.requests + WARM_UP
    print(
        f"{args.requests} sign-up POSTs, {args.concurrency} concurrent, one uvicorn worker,"
        f" {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  {args.requests / elapsed:.0f} req/s ({elapsed:.2f} s), status codes {set(codes)}")
    print(
        f"  meanwhile feeds run sent the digest to {sent} of {args.digest} subscribers"
        f" (still sending when the sign-ups ended: {digest_running_at_end})"
    )
    print(
        f"  stored {stored[0]} sign-ups ({stored[1]} distinct), {queued[0]} confirmation mails"
        f" queued ({queued[1]} distinct); expected {expected} each"
    )
    assert codes.count(200) == args.requests, "some sign-ups were refused"
    assert tuple(stored) == (expected, expected) and tuple(queued) == (expected, expected)
    assert sent == args.digest


if __name__ == "__main__":
    main()
