"""`feeds web`: sign-up with double opt-in, confirm, RFC 8058 one-click unsubscribe.

Starlette on uvicorn: a small ASGI toolkit kept by Encode, with no ORM, sessions or cookies to
switch off. URLs under web.base_url's path: POST subscribe, GET|POST confirm/<token>,
GET|POST unsubscribe/<token> (GET subscribe too, for a site without the static page).

Every write is one short BEGIN IMMEDIATE transaction in a worker thread, one at a time in this
process (SQLite's busy timeout arbitrates with `feeds run` and the CLI). A sign-up only queues
its confirmation mail; a sender thread drains the outbox (feeds.mail.confirm), woken by each
sign-up. No address is logged at the default level and uvicorn's access log is off (tokens are
in the paths).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.config import Config
from feeds.errors import ConfigError
from feeds.mail.confirm import send_confirmations
from feeds.mail.subscribers import SubscriberError, clean_name, normalize
from feeds.site.templating import labels
from feeds.store import signups as db
from feeds.store.backend import Conn
from feeds.store.manifest import transaction
from feeds.store.schema import open_state
from feeds.web.pages import CSP, button_form, page, para, signup_form

log = logging.getLogger(__name__)
MAX_BODY = 8 * 1024
SEND_EVERY = 60.0  # seconds between outbox drains when no sign-up wakes the sender
SEND_PAUSE = 1.0  # seconds at least between two drains
T = TypeVar("T")
Clock = Callable[[], datetime]

SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # Not "no-referrer": with it Chromium sends "Origin: null" on the form's own POST.
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class TooLarge(Exception):
    """A request body over MAX_BODY bytes."""


def web_secret(config: Config) -> bytes:
    """The key of the client hash, from the environment variable web.secret_env names."""
    secret = os.environ.get(config.web.secret_env, "")
    if not secret:
        raise ConfigError(
            f"web.secret_env names ${config.web.secret_env}, which is not set"
            " (a random string; it keys the hash kept as proof of consent)"
        )
    return secret.encode()


class Endpoint:
    """The routes' shared state: config, clock, per-thread connections, the sender."""

    def __init__(self, config: Config, clock: Clock, secret: bytes) -> None:
        self.config = config
        self.clock = clock
        self.secret = secret
        self.t = labels(config)
        self.lang = config.site.language
        self.base = config.web.base_url
        self.origins = {_origin(config.web.base_url), _origin(config.site.base_url)}
        self.limiter = anyio.CapacityLimiter(1)
        self.local = threading.local()
        self.wake = threading.Event()
        self.stop = threading.Event()

    def conn(self) -> Conn:
        """This thread's connection (sqlite3 connections stay in the thread that made them)."""
        found: Conn | None = getattr(self.local, "conn", None)
        if found is None:
            found = open_state(self.config)
            self.local.conn = found
        return found

    async def write(self, work: Callable[[Conn], T]) -> T:
        """One short transaction in a worker thread, one writer at a time in this process."""

        def run() -> T:
            conn = self.conn()
            with transaction(conn):
                return work(conn)

        return await anyio.to_thread.run_sync(run, limiter=self.limiter)

    def html(self, title: str, body: str, status: int = 200) -> Response:
        """A localised page."""
        return HTMLResponse(page(self.lang, title, body), status_code=status)

    def client(self, request: Request) -> str:
        """The keyed hash standing for the client's address."""
        return db.keyed_hash(self.secret, request.client.host if request.client else "")

    def same_origin(self, request: Request) -> bool:
        """Browsers send Origin on every POST: a foreign or "null" one is a forged cross-site
        post; none at all (curl, a mail provider's server) is allowed."""
        origin = request.headers.get("origin")
        if origin is None:
            return request.headers.get("sec-fetch-site", "same-origin") != "cross-site"
        return origin in self.origins

    def form(self, note: str = "") -> str:
        """The sign-up form posting here."""
        return signup_form(self.base + "subscribe", self.t, note)

    async def subscribe_page(self, request: Request) -> Response:
        """GET subscribe: the form (the site's subscribe.html carries it too)."""
        return self.html(self.t["by_mail"], self.form())

    async def subscribe(self, request: Request) -> Response:
        """POST subscribe: the same answer for a new, pending or subscribed address."""
        t = self.t
        if not self.same_origin(request):
            return self.html(t["subscribe"], para(t["forbidden"]), 403)
        fields = await read_form(request)
        if fields.get("website"):
            return self.html(t["check_inbox"], para(t["thanks"]))  # a robot: nothing stored
        try:
            email = normalize(fields.get("email", "")[:320])
        except SubscriberError:
            return self.html(t["subscribe"], self.form(t["bad_address"]), 400)
        name = clean_name(fields.get("name", ""))[:200]
        client, now, limit = self.client(request), self.clock(), self.config.web.signups_per_hour

        def work(conn: Conn) -> db.SignUp:
            if not db.hit_rate(conn, "client:" + client, now, limit):
                return "limited"
            return db.sign_up(conn, email, name, client, now)

        outcome = await self.write(work)
        if outcome == "limited":
            return self.html(t["subscribe"], para(t["too_many"]), 429)
        log.debug("sign-up: %s", outcome)  # never the address
        if outcome in ("new", "resent"):
            self.wake.set()
        return self.html(t["check_inbox"], para(t["thanks"]))

    async def confirm(self, request: Request) -> Response:
        """GET shows a button (mail scanners follow links); POST makes the address active."""
        token, now, t = request.path_params["token"], self.clock(), self.t
        if request.method == "GET":
            found = await self.write(lambda conn: db.check_confirm_token(conn, token, now))
            if found is None:
                return self.html(t["confirm_title"], self.form(t["link_expired"]), 404)
            action = f"{self.base}confirm/{token}"
            return self.html(t["confirm_title"], button_form(action, t["confirm_button"]))
        if not self.same_origin(request):
            return self.html(t["confirm_title"], para(t["forbidden"]), 403)
        await read_body(request)
        client = self.client(request)
        person = await self.write(lambda conn: db.confirm(conn, token, client, now))
        if person is None:
            return self.html(t["confirm_title"], self.form(t["link_expired"]), 404)
        return self.html(t["welcome"], para(t["welcome_text"]))

    async def unsubscribe(self, request: Request) -> Response:
        """RFC 8058: POST List-Unsubscribe=One-Click unsubscribes at once (200, no redirect,
        no cookie, no Origin check: the token is the credential and mail providers post from
        their servers); GET only shows the button and offers to subscribe again."""
        token, t = request.path_params["token"], self.t
        person = await self.write(lambda conn: db.find_by_unsubscribe_token(conn, token))
        if person is None:
            return self.html(t["unsubscribe_title"], self.form(t["link_expired"]), 404)
        again = f"<h2>{t['subscribe_again']}</h2>" + self.form()
        if request.method == "GET":
            action = f"{self.base}unsubscribe/{token}"
            button = button_form(action, t["unsubscribe_button"], ("List-Unsubscribe", "One-Click"))
            return self.html(t["unsubscribe_title"], button + again)
        fields = await read_form(request)
        if fields.get("List-Unsubscribe") != "One-Click":
            return PlainTextResponse("expected List-Unsubscribe=One-Click", 400)
        now = self.clock()
        await self.write(lambda conn: db.set_status(conn, person.id, "unsubscribed", now))
        return self.html(t["unsubscribe_title"], para(t["unsubscribed"]) + again)

    def send_loop(self) -> None:
        """Drain the outbox on each sign-up and every SEND_EVERY seconds until stopped."""
        conn = open_state(self.config)
        try:
            while not self.stop.is_set():
                report = send_confirmations(self.config, conn, self.clock())
                if report.error:
                    log.warning("confirmation mails: %s", report.error)
                # At most one drain a second: under a flood of sign-ups each drain sends a
                # batch over one SMTP connection instead of one connection per mail.
                if self.stop.wait(SEND_PAUSE):
                    break
                self.wake.wait(SEND_EVERY)
                self.wake.clear()
        finally:
            conn.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def read_body(request: Request) -> bytes:
    """The body, refusing more than MAX_BODY bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request) -> dict[str, str]:
    """urlencoded (browsers, Gmail) or multipart/form-data (RFC 8058 allows both)."""
    body = await read_body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        form = await Request(request.scope, replay).form(max_files=0, max_fields=20)
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return dict(pairs)


async def _too_large(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("request body too large", 413)


def create_app(config: Config, clock: Clock, *, send: bool = True) -> ASGIApp:
    """The ASGI app for config; `send` runs the confirmation sender thread."""
    if not config.web.base_url:
        raise ConfigError("web.base_url must be set for feeds web (where the proxy sends readers)")
    end = Endpoint(config, clock, web_secret(config))
    open_state(config).close()  # migrate (or refuse a lost state) before serving

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = threading.Thread(target=end.send_loop, name="confirmations", daemon=True)
        if send:
            sender.start()
        try:
            yield
        finally:
            end.stop.set()
            end.wake.set()
            if send:
                sender.join(30)

    routes = [
        Route("/subscribe", end.subscribe_page, methods=["GET"]),
        Route("/subscribe", end.subscribe, methods=["POST"]),
        Route("/confirm/{token}", end.confirm, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", end.unsubscribe, methods=["GET", "POST"]),
    ]
    prefix = urlsplit(config.web.base_url).path.rstrip("/")
    inner = Starlette(
        routes=[Mount(prefix, routes=routes)] if prefix else routes,
        lifespan=lifespan,
        exception_handlers={TooLarge: _too_large},
    )
    return SecurityHeaders(inner)


class SecurityHeaders:
    """The strict CSP and friends on every response, errors included; never a cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [h for h in message.get("headers", []) if h[0].lower() != b"set-cookie"]
                message["headers"] = kept + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, wrapped)


def serve(config: Config, clock: Clock, bind: str, port: int, **options: Any) -> None:
    """Run the app on uvicorn until SIGINT/SIGTERM (one worker; proxies on 127.0.0.1 trusted)."""
    import uvicorn

    app = create_app(config, clock)
    uvicorn.run(
        app,
        host=bind,
        port=port,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="warning",
        **options,
    )
