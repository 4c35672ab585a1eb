"""A real SMTP server for tests: aiosmtpd on a free 127.0.0.1 port, storing what it accepts.

    with smtp_server() as server:
        server.refuse["bad@example.org"] = "550 5.1.1 no such user"
        ...  # send to 127.0.0.1:server.port
        server.messages                   # list of Received, in arrival order

The handler can refuse given recipients (any reply, e.g. 550 or 451) or the sender, drop
the connection when the Nth message's data arrives (`drop_at`, nothing stored), or hold the
Nth message after storing it, before replying (`hold_at`), so a test can kill the client
mid-send.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import errno
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One accepted message: envelope and raw bytes (parse with .message)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed with the standard library's modern parser."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Handler:
    """aiosmtpd handler: stores messages; refuses, drops or holds on request."""

    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    refuse_sender: str | None = None
    drop_at: set[int] = field(default_factory=set)
    hold_at: int | None = None
    data_count: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    _release: asyncio.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    eight_bit_mime: bool = True  # False: a server that does not offer 8BITMIME

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if not self.eight_bit_mime:
            return [line for line in responses if line != "250-8BITMIME"]
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_sender is not None:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.data_count += 1
            number = self.data_count
        if number in self.drop_at:
            transport = server.transport
            assert isinstance(transport, asyncio.Transport)
            transport.abort()  # gone before the reply: the client never hears back
            return "421 dropped"
        received = Received(
            str(envelope.mail_from),
            tuple(envelope.rcpt_tos),
            bytes(envelope.original_content or b""),
        )
        with self.lock:
            self.messages.append(received)
        if number == self.hold_at:
            self._release = asyncio.Event()
            self.held.set()
            await self._release.wait()
        return "250 OK queued"


class SmtpTestServer:
    """A running server: its port, the handler's stored messages, and controls."""

    def __init__(self, controller: Controller, handler: Handler, port: int) -> None:
        self.controller = controller
        self.handler = handler
        self.port = port

    @property
    def messages(self) -> list[Received]:
        """Messages accepted so far (a copy)."""
        with self.handler.lock:
            return list(self.handler.messages)

    @property
    def refuse(self) -> dict[str, str]:
        """address (lower case) -> SMTP reply to RCPT TO, e.g. '550 5.1.1 no such user'."""
        return self.handler.refuse

    def refuse_sender(self, reply: str | None) -> None:
        """Answer every MAIL FROM with this reply (None: accept again)."""
        self.handler.refuse_sender = reply

    def drop_at(self, *numbers: int) -> None:
        """Drop the connection when the data of these messages (1-based, counted) arrive."""
        self.handler.drop_at.update(numbers)

    def hold_at(self, number: int) -> None:
        """Store message `number` (counted from the start), then withhold the reply until
        release(); `held` is set once it is stored."""
        self.handler.held.clear()
        self.handler.hold_at = number

    @property
    def held(self) -> threading.Event:
        """Set once the held message has been stored and its reply is being withheld."""
        return self.handler.held

    def release(self) -> None:
        """Let the held message's reply go."""
        event = self.handler._release
        if event is not None:
            self.controller.loop.call_soon_threadsafe(event.set)

    def recipients(self) -> list[str]:
        """Every envelope recipient of every stored message, in order."""
        return [rcpt for m in self.messages for rcpt in m.rcpt_tos]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server(
    *,
    tls_context: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
    logins: dict[str, str] | None = None,
    eight_bit_mime: bool = True,
    **smtp_options: Any,
) -> Iterator[SmtpTestServer]:
    """Run an aiosmtpd server in a thread for the duration of the block.

    tls_context: offer STARTTLS with it (or, with implicit_tls, speak TLS from the start).
    logins: user -> password accepted by AUTH (over plain text too, for tests).
    eight_bit_mime: offer 8BITMIME in the EHLO reply (aiosmtpd's default) or not.
    """
    handler = Handler(eight_bit_mime=eight_bit_mime)
    options: dict[str, Any] = dict(smtp_options)
    if logins is not None:
        options.update(
            auth_require_tls=False,
            authenticator=_authenticator(logins),
        )
    if tls_context is not None and not implicit_tls:
        options["tls_context"] = tls_context
    for _ in range(20):
        port = free_port()
        controller = Controller(
            handler,
            hostname=HOST,
            port=port,
            ssl_context=tls_context if implicit_tls else None,
            server_hostname="localhost",
            **options,
        )
        try:
            controller.start()
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        break
    else:
        raise RuntimeError("no free port for the test SMTP server")
    try:
        yield SmtpTestServer(controller, handler, port)
    finally:
        if handler._release is not None:
            controller.loop.call_soon_threadsafe(handler._release.set)
        controller.stop()


def _authenticator(logins: dict[str, str]) -> Any:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if logins.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return authenticate
