"""A throw-away PostgreSQL cluster for tests: initdb in a temp folder, a free port, trust auth.

The session fixture `pg_url` starts one (or uses $FEEDS_TEST_PG_URL); `pg_schema_url` gives
each test an empty schema of its own on it.

initdb refuses to run as root: as root, the cluster runs as the `postgres` user (created by
Debian's package) through runuser; as any other user it runs as that user. fsync is off:
the tests kill feeds processes, never the server.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "feeds"  # the cluster's superuser (initdb -U), and the database name
ENV_URL = "FEEDS_TEST_PG_URL"


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/N/bin holding initdb ($PG_BINDIR or pg_config win)."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(re.search(r"/(\d+)/bin", p).group(1)),  # type: ignore[union-attr]
    )
    if found:
        return Path(found[-1]).parent
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if (Path(out.stdout.strip()) / "initdb").exists():
            return Path(out.stdout.strip())
    if shutil.which("initdb"):
        return Path(shutil.which("initdb") or "").parent
    raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    folder: Path
    port: int
    bindir: Path
    run_as: str | None  # None: the current user

    @property
    def url(self) -> str:
        """TCP URL (what a second host would use)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{USER}"

    @property
    def socket_url(self) -> str:
        """Unix-socket URL (the socket lives in the cluster's folder)."""
        return f"postgresql://{USER}@/{USER}?host={self.folder}&port={self.port}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if done.returncode:
            log = self.folder / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}{tail}")

    def start(self) -> None:
        data = self.folder / "data"
        self._run(
            "initdb", "-D", str(data), "-U", USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200 -c shared_buffers=64MB"
        )
        for _ in range(3):  # the free port can be taken between free_port() and bind
            try:
                self._run(
                    "pg_ctl", "start", "-w", "-t", "30", "-D", str(data),
                    "-l", str(self.folder / "log"), "-o", options,
                )  # fmt: skip
                break
            except RuntimeError:
                if "could not bind" not in (self.folder / "log").read_text():
                    raise
                self.port = free_port()
                options = re.sub(r"-p \d+", f"-p {self.port}", options)
        else:
            raise RuntimeError("no free port for PostgreSQL")
        self._run("createdb", "-h", str(self.folder), "-p", str(self.port), "-U", USER, USER)

    def stop(self) -> None:
        data = self.folder / "data"
        try:
            pid = int((data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid:
            # SIGQUIT is pg_ctl's "immediate" mode: a throw-away cluster needs no shutdown
            # checkpoint; polling here is faster than pg_ctl -w's own wait
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 30
            while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        shutil.rmtree(self.folder, ignore_errors=True)


def create(base: str | None = None) -> Cluster:
    """A started cluster in a fresh temp folder (call .stop() to stop and delete it)."""
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        try:
            pwd.getpwnam(run_as)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", run_as], check=True)
    folder = Path(tempfile.mkdtemp(prefix="feeds-pg-", dir=base))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o755)  # the socket is in here: root's tests must reach it
    cluster = Cluster(folder, free_port(), find_bindir(), run_as)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def running() -> Iterator[Cluster]:
    cluster = create()
    try:
        yield cluster
    finally:
        cluster.stop()


# -- pytest fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL for the whole session: $FEEDS_TEST_PG_URL, or a throw-away cluster
    (PostgreSQL must be installed: Debian's `postgresql`; the tests fail, not skip, without)."""
    given = os.environ.get(ENV_URL)
    if given:
        yield given
        return
    with running() as cluster:
        yield cluster.url


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """An empty schema of its own for one test: pg_url with search_path set to it.

    A schema (not a database) so that an external server needs only CREATE on its database;
    dropped afterwards.
    """
    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in pg_url else "?"
    yield f"{pg_url}{sep}options=-csearch_path%3D{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")
