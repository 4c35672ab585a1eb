"""Digest headers from hostile values: encoded words stay text, lines stay short, one To.

End to end (the CLI sending to a local aiosmtpd) for the cases of issue 13, then a property
test over generated names, titles, senders and subjects on the message builder itself.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import subprocess
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.config import Config, DigestConfig, SiteConfig, SmtpConfig
from feeds.mail.headers import display_name, header_text
from feeds.mail.message import Mailing, Signer, recipient_for
from feeds.store.mailing import DigestRow, Subscriber, insert_subscriber
from feeds.store.manifest import transaction
from tests.conftest import SITE_TOML, Site
from tests.digest_site import article, build, delivery_states, digest_toml, state
from tests.hypothesis_profiles import PROPERTY
from tests.smtp_server import Received, smtp_server

SAT = "2026-02-21T10:00"
WEEK = "2026-W08"
HOST = "news.example.org"
HEADERS = Counter(
    {
        "Subject": 1, "From": 1, "To": 1, "Date": 1, "Message-ID": 1, "List-Id": 1,
        "List-Unsubscribe": 1, "List-Unsubscribe-Post": 1, "X-Feeds-Digest": 1,
        "MIME-Version": 1, "Content-Type": 1,
    }
)  # fmt: skip

# Encoded words whose decoded text holds CR/LF: each would add a header (or a body).
ENCODED = {
    "q-utf8": "=?utf-8?q?=0D=0AReply-To:_x@evil.example?=",
    "b-utf8": "=?utf-8?b?" + base64.b64encode(b"\r\nBcc: v@evil.example").decode() + "?=",
    "q-latin1": "=?iso-8859-1?q?=0D=0ABcc:_v@evil.example?=",
    "split": "Hi =?utf-8?q?=0D=0A?= =?utf-8?q?Bcc:_v@evil.example?= there",
    "body": "=?UTF-8?Q?x=0D=0A=0D=0Ainjected_body?=",
}


def toml(value: str) -> str:
    """value as a TOML basic string."""
    return json.dumps(value, ensure_ascii=False)


def hostile_site(
    root: Path, port: int, *, title: str, subject: str, sender: str, extra: str = ""
) -> Site:
    text = digest_toml(port).replace('title = "Тестові новини"', f"title = {toml(title)}")
    text = text.replace(
        "[digest]\nfrom = ",
        f"[digest]\nsubject = {toml(subject)}\nfrom = {toml(sender)}\n# from = ",
    )
    site = Site(root, text + extra)
    article(site, "a1", "2026-02-18T12:00")
    build(site, SAT)
    return site


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def unfolded(message: EmailMessage, name: str) -> str:
    (raw,) = [value for key, value in message.raw_items() if key == name]
    return raw.replace("\r\n", "").replace("\n", "").strip()


def the_mailbox(message: EmailMessage, name: str) -> tuple[str, str]:
    """(display name as a reader decodes it, address) of the one mailbox in header name."""
    assert len(message.get_all(name) or []) == 1, name
    (only,) = message[name].addresses
    return display_name(unfolded(message, name), str(only.display_name)), str(only.addr_spec)


def assert_one_visible_recipient(received: Received) -> None:
    """One To with one address, the envelope's own; no Cc, no Bcc."""
    message = received.message
    assert the_mailbox(message, "To")[1] == received.rcpt_tos[0]
    assert len(received.rcpt_tos) == 1
    assert message["Cc"] is None and message["Bcc"] is None


def assert_short_lines(data: bytes, header_limit: int = 78) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    assert max(map(len, head.split(b"\r\n"))) <= header_limit
    assert max(map(len, body.split(b"\r\n"))) <= 998


@pytest.mark.parametrize("word", ENCODED.values(), ids=ENCODED.keys())
def test_encoded_words_in_every_header_value_are_text_not_headers(
    tmp_path: Path, word: str
) -> None:
    with smtp_server() as server:
        site = hostile_site(
            tmp_path,
            server.port,
            title=f"News {word}",
            subject=f"{word} weekly",
            sender=f"Editors <news@{HOST}>",  # an encoded word here is a config error
        )
        assert site.main("subscribers", "add", "ann@example.org", "--name", word) == 0
        assert site.main("digest", "--send", "--now", SAT) == 0
        (received,) = server.messages
    message = received.message
    assert Counter(name for name, _ in message.raw_items()) == HEADERS
    assert message["Subject"] == header_text(f"{word} weekly")
    assert the_mailbox(message, "From") == ("Editors", f"news@{HOST}")
    assert the_mailbox(message, "To") == (header_text(word), "ann@example.org")
    assert message["List-Id"] == f"{header_text('News ' + word)} <digest.{HOST}>"
    assert b"\ninjected" not in received.data and len(message.get_payload()) == 2
    assert_one_visible_recipient(received)
    assert_short_lines(received.data)


def test_a_long_unbroken_title_and_a_huge_name_keep_every_line_short(tmp_path: Path) -> None:
    # site.title is capped at 200 characters by the config; unbroken, that still needs folding.
    title, name = "x" * 200, "Я" * 100_000
    with smtp_server() as server:
        site = hostile_site(
            tmp_path, server.port, title=title, subject="{title}", sender=f"news@{HOST}"
        )
        assert site.main("subscribers", "add", "ann@example.org", "--name", name) == 0
        assert site.main("subscribers", "add", "bob@example.org") == 0
        assert site.main("digest", "--send", "--now", SAT) == 0
        assert len(server.messages) == 2
        for received in server.messages:
            assert_short_lines(received.data)
            assert_one_visible_recipient(received)
            assert received.message["Subject"] == title
            assert the_mailbox(received.message, "From") == (title, f"news@{HOST}")
        ann = next(m for m in server.messages if m.rcpt_tos == ("ann@example.org",))
    assert the_mailbox(ann.message, "To")[0] == header_text(name)
    assert len(header_text(name)) == 2000  # the documented cap


NAMES = ['Smith, "Dan" Jr.', "O'Brien (work)", "a <b@c.d>", "x@y.z", 'Олена, <і> "ні" \\ (так)']


def test_display_names_with_specials_come_back_exactly(tmp_path: Path) -> None:
    with smtp_server() as server:
        site = hostile_site(
            tmp_path, server.port, title="News", subject="{title}", sender=f"news@{HOST}"
        )
        for number, name in enumerate(NAMES):
            assert site.main("subscribers", "add", f"r{number}@example.org", "--name", name) == 0
        assert site.main("digest", "--send", "--now", SAT) == 0
        received = {m.rcpt_tos[0]: m for m in server.messages}
    for number, name in enumerate(NAMES):
        message = received[f"r{number}@example.org"]
        assert_one_visible_recipient(message)
        assert the_mailbox(message.message, "To") == (name, f"r{number}@example.org")


def test_a_subscriber_whose_address_cannot_be_written_is_failed_not_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = "=?utf-8?q?eve?=@example.org"  # a reader would decode it to another local part
    with smtp_server() as server:
        site = hostile_site(
            tmp_path, server.port, title="News", subject="{title}", sender=f"news@{HOST}"
        )
        assert site.main("subscribers", "add", "ann@example.org") == 0
        conn = state(site)  # a row written before addresses were checked, or by hand
        with transaction(conn):
            insert_subscriber(conn, bad, "", "tok-eve-000000000000", datetime.now(UTC))
        conn.close()
        capsys.readouterr()
        assert site.main("digest", "--send", "--now", SAT) == 0
        assert server.recipients() == ["ann@example.org"]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and bad in err[0] and "not sent" in err[0]
    assert delivery_states(site, WEEK) == {"ann@example.org": "sent", bad: "perm_fail"}


def test_an_unsubscribe_url_a_header_cannot_carry_stops_the_run_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with smtp_server() as server:
        site = hostile_site(
            tmp_path, server.port, title="News", subject="{title}", sender=f"news@{HOST}"
        )
        text = site.config_path.read_text(encoding="utf-8")
        url = f"https://{HOST}/відписка?t={{token}}"
        site.config_path.write_text(text.replace("/unsubscribe?t=", "/відписка?t="), "utf-8")
        assert url in site.config_path.read_text(encoding="utf-8")
        assert site.main("subscribers", "add", "ann@example.org") == 0
        capsys.readouterr()
        assert site.main("digest", "--send", "--now", SAT) == 2
        assert server.messages == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "digest.unsubscribe_url" in err


@pytest.mark.parametrize("key", ["title", "subject"])
def test_a_unicode_line_separator_in_a_site_header_value_is_a_config_error(
    tmp_path: Path, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    section = "site" if key == "title" else "digest"
    site = Site(tmp_path, SITE_TOML + f'\n[digest]\nfrom = "n@{HOST}"\n')
    text = site.config_path.read_text(encoding="utf-8")
    if key == "title":
        text = text.replace('title = "Тестові новини"', 'title = "A\\u2028Bcc: x@y"')
    else:
        text = text.replace("[digest]\n", '[digest]\nsubject = "A\\u2029B"\n')
    site.config_path.write_text(text, encoding="utf-8")
    assert site.main("build", "--now", SAT) == 2
    assert f"{section}.{key} must not contain line breaks" in capsys.readouterr().err


# The property: any name, title, sender name and subject.

MARK = "feeds-unsubscribe-00112233445566778899aabb"
FRAGMENTS = [
    *ENCODED.values(), "\r", "\n", "\r\n", "\x00", "\u2028", "\u2029", "\t", "=?", "?=", " ",
    "<", ">", '"', "\\", ",", "@", "(", ")", ":", ";", "Олена", "x" * 5000, "Я" * 5000,
    "=?utf-8?b?", "=?iso-8859-1?q?=E9?=",
]  # fmt: skip
TEXTS = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=6).map(
    "".join
)


@pytest.fixture(scope="module")
def dkim_env(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A DKIM key in $TEST_HEADERS_DKIM_KEY; returns the DNS record of its public half."""
    folder = tmp_path_factory.mktemp("dkim")
    private, public = folder / "private.pem", folder / "public.der"
    for args in (
        ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(private)],
        ["pkey", "-in", str(private), "-pubout", "-outform", "DER", "-out", str(public)],
    ):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    os.environ["TEST_HEADERS_DKIM_KEY"] = private.read_text()
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public.read_bytes())


def digest_row(subject: str) -> DigestRow:
    return DigestRow(
        week=WEEK, slot="", start="", created_at="2026-02-21T08:00:00.000000Z",
        queued_at=None, done=False, articles=1, heading="h", subject=subject, marker=MARK,
        web_html="<html></html>", mail_html=f"<p>Новини</p>\n<a href=\"{MARK}\">x</a>\n",
        mail_text=f"Новини тижня\n\nВідписатися: {MARK}\n",
    )  # fmt: skip


@PROPERTY
@given(name=TEXTS, title=TEXTS, sender=TEXTS, subject=TEXTS, eight_bit=st.booleans())
def test_generated_header_values_read_back_exactly_and_stay_signed(
    dkim_env: bytes, name: str, title: str, sender: str, subject: str, eight_bit: bool
) -> None:
    quoted = sender.replace("\\", "\\\\").replace('"', '\\"')
    config = Config(
        site=SiteConfig(title=title, base_url=f"https://{HOST}/"),
        digest=DigestConfig(
            from_=f'"{quoted}" <news@{HOST}>', unsubscribe_url=f"https://{HOST}/u?t={{token}}"
        ),
        smtp=SmtpConfig(dkim_selector="mail", dkim_key_env="TEST_HEADERS_DKIM_KEY"),
    )
    row = digest_row(subject)
    to = recipient_for(config, WEEK, Subscriber(7, "ann@example.org", name, "tok-7_abc", ""))
    data = Mailing(config, row, datetime(2026, 2, 21, 8, tzinfo=UTC), eight_bit=eight_bit).message(
        to, Signer(config)
    )
    message = parse(data)
    assert Counter(key for key, _ in message.raw_items()) == HEADERS + Counter(["DKIM-Signature"])
    assert message["Subject"] == header_text(subject)
    assert the_mailbox(message, "To") == (header_text(name), "ann@example.org")
    sender_name = header_text(sender) or header_text(title)
    assert the_mailbox(message, "From") == (sender_name, f"news@{HOST}")
    list_id = f"{header_text(title)} <digest.{HOST}>" if header_text(title) else f"<digest.{HOST}>"
    assert message["List-Id"] == list_id
    for kind, source in (("plain", row.mail_text), ("html", row.mail_html)):
        part = message.get_body((kind,))
        assert part is not None
        # base64 keeps the CRLF line ends it was encoded with; the text is the same
        assert part.get_content().replace("\r\n", "\n") == source.replace(MARK, to.unsubscribe)
    assert_short_lines(data, header_limit=998)
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: dkim_env)
