"""Digest delivery throughput (issue 8: 10 000 subscribers, local aiosmtpd, >= 200 messages/s).

    python3 benchmarks/digest_throughput.py [--subscribers 10000] [--articles 20] [--repeat 1]
                                            [--no-token-url] [--profile OUT.prof] [--keep]

Builds a site of N articles (all in the week of the 2026-W08 slot) through the real CLI,
imports S subscribers (`feeds subscribers import`), then times `feeds digest --send` against
an aiosmtpd server running in a separate process on a free 127.0.0.1 port, whose handler only
counts messages. The send process is started by spawn.py (fork, exec, wait4), so its peak RSS
is its own. Prints messages/s over the whole process (start-up, digest rendering and queueing
included), the server-side rate from the first to the last message, wall time and peak RSS.

`measure(subscribers, articles)` returns the same figures as a dict for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "work"
sys.path.insert(0, str(HERE))
import corpus as corpus_mod  # noqa: E402 (a script folder, not a package)

# The 2026-W08 slot is Friday 2026-02-20 17:00 (Kyiv); the first digest covers the 7 days up
# to it. The articles are spread over that window; "now" is the next morning.
WINDOW_FIRST = datetime(2026, 2, 14, 8, 0)
WINDOW_LAST = datetime(2026, 2, 20, 16, 0)
NOW = "2026-02-21T09:00"
UNSUBSCRIBE_URL = "https://news.example.org/unsubscribe?t={token}"

SERVER = r"""
import errno, socket, sys, threading, time
from aiosmtpd.controller import Controller

class Counter:
    def __init__(self):
        self.count = 0
        self.bytes = 0
        self.first = self.last = 0.0
        self.marks = []  # time of every 1000th message
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        now = time.perf_counter()
        with self.lock:
            if not self.count:
                self.first = now
            self.count += 1
            self.bytes += len(envelope.original_content or b"")
            self.last = now
            if self.count % 1000 == 0:
                self.marks.append(now)
        return "250 OK"

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

counter = Counter()
for _ in range(20):  # port 0 cannot be used: the controller connects to it once started
    controller = Controller(counter, hostname="127.0.0.1", port=free_port())
    try:
        controller.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            continue
        raise
    break
print(controller.port, flush=True)
for line in sys.stdin:  # one line: report; EOF: stop
    with counter.lock:
        span = counter.last - counter.first
        blocks = [round(1000 / (b - a)) for a, b in zip(counter.marks, counter.marks[1:])]
        print(counter.count, counter.bytes, span, ",".join(map(str, blocks)) or "-", flush=True)
controller.stop()
"""


def write_site(root: Path, articles: int, subscribers: int, token_url: bool) -> Path:
    """Seeds, feeds.toml and the subscriber CSV under root; returns the config path."""
    seeds = root / "seeds"
    seeds.mkdir(parents=True)
    step = (WINDOW_LAST - WINDOW_FIRST) / max(articles - 1, 1)
    for index, article in enumerate(corpus_mod.articles(articles)):
        dated = dataclasses.replace(article, date=WINDOW_FIRST + step * index)
        (seeds / f"{article.stem}.txt").write_text(corpus_mod.seed_text(dated), encoding="utf-8")
        old = time.time() - 60  # past the one-second settling window
        os.utime(seeds / f"{article.stem}.txt", (old, old))
    unsubscribe = f'unsubscribe_url = "{UNSUBSCRIBE_URL}"\n' if token_url else ""
    config = root / "feeds.toml"
    config.write_text(
        '[site]\ntitle = "Новини"\nbase_url = "https://news.example.org/"\n'
        'language = "uk"\ntimezone = "Europe/Kyiv"\nid_year = 2026\n\n'
        f'[paths]\nseeds = "{seeds}"\nout = "public"\nstate = "state"\n\n'
        f'[digest]\nfrom = "Новини <news@news.example.org>"\n{unsubscribe}\n'
        '[smtp]\nhost = "127.0.0.1"\nport = 25\nsecurity = "none"\ntimeout = 30\n',
        encoding="utf-8",
    )
    (root / "subscribers.csv").write_text(
        "email,name\n" + "".join(f"reader{i}@example.net,Читач {i}\n" for i in range(subscribers)),
        encoding="utf-8",
    )
    return config


def _set_port(config: Path, port: int) -> None:
    text = config.read_text(encoding="utf-8").replace("port = 25\n", f"port = {port}\n")
    config.write_text(text, encoding="utf-8")


class _Spawner:
    """benchmarks/spawn.py: fork + exec + wait4 from a tiny process, for an honest peak RSS."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "spawn.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, argv: list[str], cwd: Path, log: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"argv": argv, "cwd": str(cwd), "log": str(log)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


class _Server:
    """The counting aiosmtpd server in its own process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def report(self) -> tuple[int, int, float, list[int]]:
        """(messages, bytes, seconds from the first to the last message, messages/s in each
        block of 1000 after the first)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        count, size, span, blocks = self.proc.stdout.readline().split()
        rates = [] if blocks == "-" else [int(rate) for rate in blocks.split(",")]
        return int(count), int(size), float(span), rates

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def ceiling(port: int, message: bytes, count: int) -> float:
    """Messages/s of an SMTP client that does nothing but send `message` over one connection:
    the most any sender can get from this server on this machine right now."""
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    try:
        client.ehlo()
        start = time.perf_counter()
        for number in range(count):
            client.sendmail("news@news.example.org", f"probe{number}@example.net", message)
        return count / (time.perf_counter() - start)
    finally:
        client.quit()


def measure(
    subscribers: int = 10_000,
    articles: int = 20,
    *,
    token_url: bool = True,
    profile: Path | None = None,
    keep: bool = False,
    source: Path = REPO,
    with_ceiling: bool = False,
) -> dict[str, Any]:
    """One `feeds digest --send` of `articles` articles to `subscribers` subscribers.

    source: the folder holding the feeds package to run (a checkout of another revision).
    with_ceiling: then also time a do-nothing client sending the digest's public .eml as
    often (at most 2000 times) to the same server: `ceiling_messages_per_s`.
    """
    WORK.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="digest-", dir=WORK))
    feeds = [sys.executable, "-m", "feeds"]
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("FEEDS_CONFIG", None)
    spawner = _Spawner(env)
    server: _Server | None = None
    try:
        config = write_site(root, articles, subscribers, token_url)
        base = ["--config", str(config), "--now", NOW]
        for step in (["build"], ["subscribers", "import", str(root / "subscribers.csv")]):
            subprocess.run(
                [*feeds, *base, *step], cwd=root, env=env, check=True, capture_output=True
            )
        server = _Server()
        _set_port(config, server.port)
        send = [*feeds, *base, "digest", "--send"]
        if profile is not None:
            send = [sys.executable, "-m", "cProfile", "-o", str(profile.resolve()), *send[1:]]
        load_before = os.getloadavg()
        timing = spawner.run(send, root, root / "send.log")
        load_after = os.getloadavg()
        count, size, span, blocks = server.report()
        if timing["status"] != 0 or count != subscribers:
            log = (root / "send.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"digest --send: exit {timing['status']}, {count} sent\n{log}")
        limit = float("nan")
        if with_ceiling:
            eml = (root / "public" / "digests" / "2026-W08.eml").read_bytes()
            limit = ceiling(server.port, eml, min(subscribers, 2000))
    finally:
        if server is not None:
            server.stop()
        spawner.close()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return {
        "subscribers": subscribers,
        "articles": articles,
        "messages": count,
        "message_bytes": size // max(count, 1),
        "wall_s": timing["wall"],
        "cpu_s": timing["cpu"],
        "messages_per_s": count / timing["wall"],
        "server_messages_per_s": (count - 1) / span if span > 0 else float("nan"),
        "peak_rss_mb": timing["rss_kb"] / 1024,
        "ceiling_messages_per_s": limit,
        "server_rate_per_1000": blocks,
        "load_before": load_before,
        "load_after": load_after,
        "run_folder": str(root) if keep else "",
        "source": str(source),
    }


def main() -> None:
    """Parse the options, measure, print one block per repeat."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--no-token-url",
        action="store_true",
        help="no digest.unsubscribe_url: one body for every subscriber",
    )
    parser.add_argument("--profile", type=Path, help="cProfile the send process into this file")
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    parser.add_argument("--json", action="store_true", help="print the result dicts as JSON")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also time a do-nothing SMTP client against the same server",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="folder holding the feeds package to run (default: this tree)",
    )
    args = parser.parse_args()
    for _ in range(args.repeat):
        result = measure(
            args.subscribers,
            args.articles,
            token_url=not args.no_token_url,
            profile=args.profile,
            keep=args.keep,
            source=args.source,
            with_ceiling=args.ceiling,
        )
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        load = " ".join(f"{x:.2f}" for x in result["load_before"])
        print(
            f"{result['messages']} messages ({result['message_bytes'] / 1000:.1f} kB each,"
            f" {result['articles']} articles) in {result['wall_s']:.2f} s:"
            f" {result['messages_per_s']:.0f} messages/s (process),"
            f" {result['server_messages_per_s']:.0f} messages/s (server, first to last);"
            f" CPU {result['cpu_s']:.2f} s; peak RSS {result['peak_rss_mb']:.0f} MB;"
            + (
                f" ceiling {result['ceiling_messages_per_s']:.0f} messages/s;"
                if args.ceiling
                else ""
            )
            + f" load {load}"
            + (f"; per 1000 {result['server_rate_per_1000']}" if args.subscribers > 2000 else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
