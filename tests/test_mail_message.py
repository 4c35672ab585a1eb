"""Messages to subscribers: built from one encoded digest, equal to the email package's own
build, and sent byte for byte."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from feeds.config import Config, DigestConfig, SiteConfig, SmtpConfig
from feeds.mail import message as message_module
from feeds.mail.delivery import SmtpSession
from feeds.mail.headers import HeaderError
from feeds.mail.message import Mailing, build_message, recipient_for, transfer_encoding
from feeds.store.mailing import DigestRow, Subscriber
from tests.smtp_server import smtp_server

MARK = "feeds-unsubscribe-0123456789abcdef01234567"
NOW = datetime(2026, 2, 21, 8, tzinfo=UTC)
TOKEN_URL = "https://news.example.org/unsubscribe?t={token}&list=digest"

ENGLISH_HTML = (
    '<!DOCTYPE html><html lang="en"><body style="margin:0;padding:0">\n'
    + "".join(
        f'<p style="font-family:Georgia,serif;color:#222">Story {n}: a long line of words that'
        f" runs well past the seventy-eight columns of a mail line, = signs and all.</p>\n"
        for n in range(30)
    )
    + "trailing space \ntrailing tab\t\n.a line starting with a dot\n\n"
    + f'<a href="{MARK}">Unsubscribe</a> and again: <a href="{MARK}">here</a>\n'
    + "x" * 75
    + f"{MARK}\n</body></html>\n"
)
ENGLISH_TEXT = "Weekly news\n\n" + "Story one.\n" * 40 + f"Unsubscribe: {MARK}\n"
UKRAINIAN_TEXT = "Тижневик новин\n\n" + "Перша новина тижня.\n" * 40 + f"Відписатися: {MARK}\n"
UKRAINIAN_HTML = (
    '<html lang="uk"><body>\n'
    + '<p style="color:#222">Друга новина тижня, довга і докладна.</p>\n' * 40
    + f'<a href="{MARK}">Відписатися</a>\n</body></html>\n'
)

READERS = (
    Subscriber(7, "ann@example.org", "", "tok-7_aaaaaaaaaaaaaaaaaaaa", ""),
    Subscriber(8, "bob@example.org", "Bob Smith", "tok-8_bbbbbbbbbbbbbbbbbbbb", ""),
    Subscriber(123456, "cat@example.org", "Катерина Шевченко", "tok_cccccccccccccccccccc", ""),
    Subscriber(9, "dan@example.org", 'Smith, "Dan" Jr.', "tok-9_dddddddddddddddddddd", ""),
    Subscriber(10, "eve@example.org", "Єва " * 20, "tok-10_eeeeeeeeeeeeeeeeeeee", ""),
    Subscriber(11, "fay@example.org", "Fay", "short", ""),
)


def digest(text: str, html: str) -> DigestRow:
    return DigestRow(
        week="2026-W08", slot="", start="", created_at="2026-02-21T08:00:00.000000Z",
        queued_at=None, done=False, articles=2, heading="h", subject="Новини: 13–20 лютого",
        marker=MARK, web_html="<html></html>", mail_html=html, mail_text=text,
    )  # fmt: skip


def config(unsubscribe_url: str) -> Config:
    return Config(
        site=SiteConfig(title="Тестові новини", base_url="https://news.example.org/"),
        digest=DigestConfig(from_="News <news@news.example.org>", unsubscribe_url=unsubscribe_url),
    )


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("eight_bit", [False, True], ids=["7bit-server", "8bitmime-server"])
@pytest.mark.parametrize("url", [TOKEN_URL, ""], ids=["token-url", "mailto-only"])
@pytest.mark.parametrize(
    ("text", "html"),
    [
        (ENGLISH_TEXT, ENGLISH_HTML),
        (UKRAINIAN_TEXT, UKRAINIAN_HTML),
        (f"{MARK}\n{UKRAINIAN_TEXT}", f"{MARK}{UKRAINIAN_HTML}{MARK}"),
        ("", ""),
    ],
    ids=["english", "ukrainian", "links-first", "empty"],
)
def test_every_message_is_byte_identical_to_the_email_package_build(
    url: str, text: str, html: str, eight_bit: bool
) -> None:
    conf, row = config(url), digest(text, html)
    mailing = Mailing(conf, row, NOW, eight_bit=eight_bit)
    for reader in READERS * 2:
        to = recipient_for(conf, row.week, reader)
        assert mailing.message(to) == build_message(conf, row, to, NOW, eight_bit=eight_bit), reader
    assert mailing.fast


def test_messages_share_the_body_and_carry_their_own_headers() -> None:
    conf, row = config(TOKEN_URL), digest(UKRAINIAN_TEXT, ENGLISH_HTML)
    mailing = Mailing(conf, row, NOW)
    first, second = (
        parse(mailing.message(recipient_for(conf, row.week, reader))) for reader in READERS[:2]
    )
    assert (first["To"], second["To"]) == ("ann@example.org", "Bob Smith <bob@example.org>")
    assert first["Message-ID"] != second["Message-ID"]
    assert READERS[0].token in first["List-Unsubscribe"]
    assert READERS[1].token in second["List-Unsubscribe"]
    for kind in ("plain", "html"):
        bodies = []
        for msg, reader in ((first, READERS[0]), (second, READERS[1])):
            part = msg.get_body((kind,))
            assert part is not None
            body = str(part.get_content())
            assert reader.token in body
            bodies.append(body.replace(reader.token, "TOKEN"))
        assert bodies[0] == bodies[1]


def test_a_difference_from_the_full_build_falls_back_to_full_builds(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conf, row = config(TOKEN_URL), digest(ENGLISH_TEXT, ENGLISH_HTML)
    broken = lambda self, link, eight_bit: b"broken\r\n"  # noqa: E731
    monkeypatch.setattr(message_module._Part, "encoded", broken)
    mailing = Mailing(conf, row, NOW)
    for reader in READERS[:3]:
        to = recipient_for(conf, row.week, reader)
        assert mailing.message(to) == build_message(conf, row, to, NOW)
    assert not mailing.fast
    assert "building every message in full" in caplog.text


def test_a_line_break_in_the_unsubscribe_link_is_refused() -> None:
    conf = config("https://news.example.org/u?t={token}")
    reader = dataclasses.replace(READERS[0], token="a\r\nBcc: v@example.org")
    mailing = Mailing(conf, digest(ENGLISH_TEXT, ENGLISH_HTML), NOW)
    with pytest.raises(HeaderError, match="List-Unsubscribe: only printable ASCII"):
        mailing.message(recipient_for(conf, "2026-W08", reader))


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: s\r\n\r\n.starts with a dot\r\n..two dots\r\nend.\r\n.\r\n",
        b".a first line with a dot\r\n\r\nno line break at the end",
    ],
)
def test_lines_starting_with_a_dot_arrive_unchanged(data: bytes) -> None:
    with (
        smtp_server() as server,
        SmtpSession(
            SmtpConfig(host="127.0.0.1", port=server.port, security="none", timeout=10)
        ) as session,
    ):
        assert session.send("news@example.org", "ann@example.org", data).state == "sent"
        received = server.messages[0].data
    assert received == data if data.endswith(b"\r\n") else received == data + b"\r\n"


CYRILLIC_MAIL_HTML = (
    '<tr><td style="padding:12px 24px;font-family:Georgia,serif;font-size:17px;color:#1a1a1a">'
    '<a href="https://news.example.org/articles/persha-novyna.html" style="color:#1a1a1a">'
    "Перша новина тижня</a></td></tr>\n"
) * 40


@pytest.mark.parametrize(
    "text",
    [ENGLISH_HTML, ENGLISH_TEXT, UKRAINIAN_HTML, UKRAINIAN_TEXT, CYRILLIC_MAIL_HTML],
    ids=["english-html", "english-text", "ukrainian-html", "ukrainian-text", "markup-cyrillic"],
)
def test_the_transfer_encoding_chosen_is_the_shorter(text: str) -> None:
    sizes = {}
    for cte in ("base64", "quoted-printable"):
        part = EmailMessage(policy=email.policy.SMTP)
        part.set_content(text, subtype="html", cte=cte)
        sizes[cte] = len(part.as_bytes())
    assert transfer_encoding(text) == min(sizes, key=sizes.__getitem__)
