"""A throw-away Dovecot IMAP server for tests (Debian's dovecot-imapd, plaintext on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run/state
log_path = {root}/dovecot.log
ssl = no
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{root}/mail/%u
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def dovecot() -> Iterator[int]:
    """A throw-away Dovecot on 127.0.0.1 (user news, password secret); yields its port.

    Needs root and Debian's dovecot-imapd (.ci/run installs it)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if os.geteuid() != 0 or not os.path.exists(binary):
        raise RuntimeError("the IMAP tests need root and `apt-get install dovecot-imapd`")
    user = pwd.getpwnam("dovecot")
    # Not under tmp_path: pytest's base folder is 0700 and the mail processes run as dovecot.
    root = Path(tempfile.mkdtemp(prefix="feeds-dovecot-"))
    root.chmod(0o755)
    (root / "mail").mkdir()
    os.chown(root / "mail", user.pw_uid, user.pw_gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(root=root, port=port))
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 20
        while not _answers(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                log = root / "dovecot.log"
                raise RuntimeError(log.read_text(errors="replace") if log.exists() else "dovecot")
            time.sleep(0.05)  # polling for the listener, with a deadline
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False
