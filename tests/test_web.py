"""feeds web in a real uvicorn process on 127.0.0.1: headless Chromium signs up on the built
subscribe.html (served by feeds serve), the confirmation mail reaches the aiosmtpd server, the
link confirms, the next digest reaches the new subscriber, and a one-click POST exactly as
Gmail sends it unsubscribes (a GET does not)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from feeds.store import signups
from feeds.store.schema import open_state
from tests.cdp import Chromium
from tests.conftest import BACKENDS, SITE_TOML, Site
from tests.smtp_server import Received, SmtpTestServer
from tests.support_web import free_port

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SECRET = {"FEEDS_WEB_SECRET": "a test secret"}
GMAIL = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Web:
    """A site with feeds web and feeds serve running on it."""

    site: Site
    base: str  # web.base_url
    origin: str  # the app's own origin
    static: str  # where feeds serve shows the published site
    smtp: SmtpTestServer

    def status(self, email: str) -> str:
        conn = open_state(self.site.config())
        try:
            found = signups.find_person(conn, email)
            return found.status if found else "none"
        finally:
            conn.close()

    def token(self, email: str) -> str:
        conn = open_state(self.site.config())
        try:
            found = signups.find_person(conn, email)
            assert found is not None
            return found.token
        finally:
            conn.close()

    def mails(self, count: int, to: str | None = None, deadline: float = 30) -> list[Received]:
        """Poll the SMTP server until it holds `count` messages (to `to`), with a deadline."""
        give_up = time.monotonic() + deadline
        while True:
            found = [m for m in self.smtp.messages if to is None or to in m.rcpt_tos]
            if len(found) >= count or time.monotonic() > give_up:
                assert len(found) >= count, f"{len(found)} mails, expected {count}"
                return found
            time.sleep(0.05)  # polling the server's store, with a deadline

    def post(self, url: str, data: dict[str, str], **headers: str) -> httpx.Response:
        return httpx.post(url, data=data, headers=headers, follow_redirects=False)


def _toml(static_port: int, web_port: int, smtp_port: int, extra: str = "") -> str:
    zone = ZoneInfo("Europe/Kyiv")
    yesterday = datetime.now(zone) - timedelta(days=1)
    return (
        SITE_TOML.replace("https://news.example.org/", f"http://127.0.0.1:{static_port}/")
        + f"""
[digest]
from = "Тестові новини <news@news.example.org>"
weekday = "{WEEKDAYS[yesterday.weekday()]}"
time = "00:00"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout = 10

[web]
base_url = "http://127.0.0.1:{web_port}/newsletter/"
{extra}
"""
    )


@contextmanager
def _process(site: Site, port: int, *args: str) -> Iterator[None]:
    env = {**os.environ, **SECRET}
    env.pop("FEEDS_NOW", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), *args],
        cwd=site.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        give_up = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > give_up:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"feeds {args[0]} did not start: {err}") from None
                time.sleep(0.05)  # polling for the listener, with a deadline
        yield
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path: Path, server: SmtpTestServer) -> Iterator[Web]:
    """feeds web and feeds serve as real processes, the state in SQLite or PostgreSQL (web
    instances keep nothing of their own: several may share one PostgreSQL)."""
    static_port, web_port = free_port(), free_port()
    site = Site(tmp_path)
    state = ""
    if request.param == "postgresql":
        state = f'[state]\nurl = "{request.getfixturevalue("pg_schema_url")}"\n'
    site.config_path.write_text(
        _toml(static_port, web_port, server.port, state), encoding="utf-8"
    )
    three_days_ago = datetime.now(ZoneInfo("Europe/Kyiv")) - timedelta(days=3)
    site.seed("a.txt", f"date {three_days_ago:%Y-%m-%d} 12:00\ntitle Метро\n\nТекст.\n")
    assert site.main("build") == 0
    with (
        _process(site, web_port, "web", "--port", str(web_port)),
        _process(site, static_port, "serve", "--port", str(static_port)),
    ):
        yield Web(
            site,
            f"http://127.0.0.1:{web_port}/newsletter/",
            f"http://127.0.0.1:{web_port}",
            f"http://127.0.0.1:{static_port}/",
            server,
        )


def _link(mail: Received, kind: str) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    found = re.search(r"(http://\S+/" + kind + r"/\S+)", str(body.get_content()))
    assert found, body
    return found.group(1)


def _sign_up_in_chromium(web: Web, address: str, name: str) -> str:
    browser = Chromium()
    try:
        browser.open(web.static + "subscribe.html")
        browser.type_into("form.signup input[name=email]", address)
        browser.type_into("form.signup input[name=name]", name)
        browser.evaluate("document.querySelector('form.signup button[type=submit]').click()")
        browser.wait_event("Page.loadEventFired")
        return str(browser.evaluate("document.body.innerText"))
    finally:
        browser.close()


def test_sign_up_confirm_digest_and_one_click_unsubscribe(web: Web) -> None:
    text = _sign_up_in_chromium(web, "Reader@Example.com", "Читачка")
    assert "Перевірте пошту" in text  # the thank-you page, in the site's language
    assert web.status("reader@example.com") == "pending"
    (mail,) = web.mails(1)
    assert mail.rcpt_tos == ("Reader@example.com",)  # the domain normalised only
    assert mail.message["Auto-Submitted"] == "auto-generated"
    confirm = _link(mail, "confirm")
    shown = httpx.get(confirm)  # a mail scanner following the link: nothing happens
    assert shown.status_code == 200 and "<button" in shown.text
    assert web.status("reader@example.com") == "pending"
    done = web.post(confirm, {}, Origin=web.origin)
    assert done.status_code == 200 and web.status("reader@example.com") == "active"
    assert web.post(confirm, {}, Origin=web.origin).status_code == 404  # used up

    assert web.site.main("run") == 0  # the next digest goes to the new subscriber
    digest = web.mails(2, to="Reader@example.com")[1]
    header = str(digest.message["List-Unsubscribe"])
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click = re.findall(r"<(http[^>]+)>", header)[0]
    assert one_click == web.base + "unsubscribe/" + web.token("reader@example.com")

    page = httpx.get(one_click)
    assert page.status_code == 200 and "List-Unsubscribe" in page.text
    assert web.status("reader@example.com") == "active"  # GET never unsubscribes
    gmail = httpx.post(one_click, content=b"List-Unsubscribe=One-Click", headers=GMAIL)
    assert gmail.status_code == 200
    assert "location" not in gmail.headers and "set-cookie" not in gmail.headers
    assert web.status("reader@example.com") == "unsubscribed"


def test_same_answer_whatever_the_address_and_guards(web: Web) -> None:
    url = web.base + "subscribe"
    first = web.post(url, {"email": "a@example.com"}, Origin=web.origin)
    again = web.post(url, {"email": "a@example.com"}, Origin=web.origin)  # pending, in the hour
    other = web.post(url, {"email": "b@example.com"})  # no Origin: curl, no-JS clients
    assert first.status_code == again.status_code == other.status_code == 200
    assert first.text == again.text == other.text
    assert len(web.mails(2)) == 2
    csp = first.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "set-cookie" not in first.headers
    assert (
        web.post(url, {"email": "c@example.com"}, Origin="https://evil.example").status_code == 403
    )
    assert web.post(url, {"email": "c@example.com"}, Origin="null").status_code == 403
    trap = web.post(url, {"email": "d@example.com", "website": "http://spam"})
    assert trap.status_code == 200 and trap.text == first.text
    assert web.status("d@example.com") == "none"
    assert web.post(url, {"email": "e@example.com", "name": "x" * 9000}).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while reading
        yield b"email=f%40example.com&name="
        for _ in range(20):
            yield b"y" * 1000

    big = httpx.post(url, content=chunks(), headers=GMAIL)
    assert big.status_code == 413
    assert web.post(url, {"email": "not an address"}).status_code == 400
    # Per client: web.signups_per_hour (10); the proxy's X-Forwarded-For names the client.
    codes = [
        web.post(
            url, {"email": f"r{i}@example.com"}, **{"X-Forwarded-For": "203.0.113.9"}
        ).status_code
        for i in range(11)
    ]
    assert codes == [200] * 10 + [429]
    sent = web.mails(12)  # a, b and r0..r9
    assert [m.rcpt_tos for m in sent].count(("a@example.com",)) == 1  # once an hour at most


def test_multipart_one_click_and_coming_back_only_through_a_new_confirmation(web: Web) -> None:
    web.post(web.base + "subscribe", {"email": "g@example.com"}, Origin=web.origin)
    web.post(_link(web.mails(1)[0], "confirm"), {}, Origin=web.origin)
    old = web.token("g@example.com")
    url = web.base + f"unsubscribe/{old}"
    multipart = httpx.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert multipart.status_code == 200 and web.status("g@example.com") == "unsubscribed"
    assert httpx.post(url, content=b"List-Unsubscribe=One-Click", headers=GMAIL).status_code == 200
    assert httpx.post(url + "x", content=b"List-Unsubscribe=One-Click").status_code == 404
    assert httpx.post(url, content=b"something=else", headers=GMAIL).status_code == 400
    web.post(web.base + "subscribe", {"email": "g@example.com"}, Origin=web.origin)
    assert web.status("g@example.com") == "unsubscribed"  # only the link brings it back
    web.post(_link(web.mails(2)[1], "confirm"), {}, Origin=web.origin)
    assert web.status("g@example.com") == "active" and web.token("g@example.com") != old


def test_consent_export_and_forget(web: Web) -> None:
    web.post(web.base + "subscribe", {"email": "h@example.com"}, Origin=web.origin)
    web.post(_link(web.mails(1)[0], "confirm"), {}, Origin=web.origin)
    shown = web.site.run("subscribers", "export", "h@example.com")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)["subscriber"]
    assert data["signup_at"] and data["confirmed_at"] and data["status"] == "active"
    assert len(data["confirm_client"]) == 32 and "127.0.0.1" not in shown.stdout
    assert "token" not in data
    listing = web.site.run("subscribers", "list", "--all")
    assert "h@example.com\t\tactive" in listing.stdout
    assert web.site.run("subscribers", "forget", "h@example.com").returncode == 0
    assert web.status("h@example.com") == "none"
    assert web.site.run("subscribers", "export", "h@example.com").returncode == 2
