"""feeds bounces: classification over DSN fixtures of Postfix, Exim, Exchange and Gmail, and
exactly-once handling from Maildir, mbox and a real (throw-away) Dovecot IMAP server."""

from __future__ import annotations

import email
import imaplib
import mailbox
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flufl.bounce import all_failures

from feeds.mail import bounces
from feeds.store.mailing import utc_text
from feeds.store.manifest import transaction
from feeds.store.schema import connect
from tests.imap_server import dovecot

DSN = Path(__file__).parent / "fixtures" / "dsn"
HOST, LIST = "example.org", "news@example.org"
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)

EXPECTED = {
    "postfix_hard": ("alice@example.net", "permanent", "2026-W08", 11, "5.1.1"),
    "postfix_soft": ("bob@example.net", "temporary", "2026-W08", 12, "4.2.2"),
    "postfix_expired": ("bob@example.net", "temporary", "2026-W09", 12, "4.7.0"),
    "exim_hard_classic": ("carol@example.com", "permanent", "2026-W08", 13, "5.1.1"),
    "exim_soft_classic": ("dave@example.com", "temporary", "2026-W08", 14, "4.7.1"),
    "exim_hard_rfc3464": ("erin@example.com", "permanent", "2026-W08", 15, "5.0.0"),
    "exim_soft_rfc3464": ("dave@example.com", "temporary", "2026-W09", 14, "4.0.0"),
    "exchange_hard": ("frank@contoso.com", "permanent", "2026-W08", 16, "5.1.10"),
    "exchange_soft": ("grace@contoso.com", "temporary", "2026-W08", 17, "4.4.7"),
    "gmail_hard": ("heidi@gmail.com", "permanent", "2026-W08", 18, "5.1.1"),
    "gmail_soft": ("ivan@gmail.com", "temporary", "2026-W08", 19, "4.2.2"),
    "unsubscribe": ("judy@example.net", "unsubscribe", None, None, ""),
}
PEOPLE = {
    11: "alice@example.net",
    12: "bob@example.net",
    13: "carol@example.com",
    14: "dave@example.com",
    15: "erin@example.com",
    16: "frank@contoso.com",
    17: "grace@contoso.com",
    18: "heidi@gmail.com",
    19: "ivan@gmail.com",
    20: "judy@example.net",
}


def raw(name: str) -> bytes:
    return (DSN / f"{name}.eml").read_bytes()


def classify(data: bytes) -> bounces.Classified:
    return bounces.classify(data, host=HOST, list_address=LIST)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_is_classified(name: str) -> None:
    address, kind, week, sid, status = EXPECTED[name]
    result = classify(raw(name))
    assert len(result.findings) == 1, result
    found = result.findings[0]
    assert (found.address, found.kind, found.digest, found.subscriber_id, found.status) == (
        address,
        kind,
        week,
        sid,
        status,
    )


def test_auto_reply_does_not_count() -> None:
    result = classify(raw("autoreply"))
    assert result.findings == () and result.reason == "auto-reply"


def test_flufl_alone_gets_two_fixtures_wrong() -> None:
    """Why the Status refinement exists: flufl calls both of these permanent."""
    for name in ("postfix_expired", "exim_soft_classic"):
        temporary, permanent = all_failures(email.message_from_bytes(raw(name)))
        assert permanent and not temporary, name


def test_bounce_of_someone_elses_mail_is_ignored() -> None:
    data = raw("postfix_hard").replace(
        b"digest.2026-W08.11.2969104e235ae20b@example.org", b"CAF=personal.1@mail.example.org"
    )
    data = data.replace(b"List-Id: Example Notes <digest.example.org>\n", b"")
    assert classify(data).reason == "not our mail"


def test_unsubscribe_needs_the_list_address_and_a_human() -> None:
    data = raw("unsubscribe")
    assert classify(data.replace(b"To: news@example.org", b"To: other@example.org")).findings == ()
    auto = data.replace(
        b"Subject: unsubscribe", b"Auto-Submitted: auto-generated\nSubject: unsubscribe"
    )
    assert classify(auto).reason == "auto-reply"
    empty_subject = data.replace(b"Subject: unsubscribe", b"Subject: ").replace(
        b"This message was automatically generated", b"unsubscribe\n\nThis message was generated"
    )
    assert classify(empty_subject).findings[0].kind == "unsubscribe"


# -- acting once --------------------------------------------------------------------------------


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    db = connect(tmp_path / "state")
    with transaction(db):
        for sid, address in PEOPLE.items():
            token = f"tok-{address.split('@')[0]}-0123456789abcdef"
            db.execute(
                "INSERT INTO subscribers (id, email, token, added_at, status) VALUES (?, ?, ?, ?,"
                " 'active')",
                (sid, address, token, utc_text(NOW)),
            )
    yield db
    db.close()


def statuses(db: sqlite3.Connection) -> dict[str, str]:
    return dict(db.execute("SELECT email, status FROM subscribers"))


def all_names() -> list[str]:
    return sorted(p.stem for p in DSN.glob("*.eml"))


def expect_after_one_pass(db: sqlite3.Connection) -> None:
    got = statuses(db)
    for address in (
        "alice@example.net",
        "carol@example.com",
        "erin@example.com",
        "frank@contoso.com",
        "heidi@gmail.com",
    ):
        assert got[address] == "disabled", address
    assert got["judy@example.net"] == "unsubscribed"
    for address in ("bob@example.net", "dave@example.com", "grace@contoso.com", "ivan@gmail.com"):
        assert got[address] == "active", address  # soft: fewer than three digests
    soft = dict(db.execute("SELECT subscriber_id, COUNT(*) FROM soft_bounces GROUP BY 1"))
    assert soft == {12: 2, 14: 2, 17: 1, 19: 1}


def make_maildir(path: Path, names: list[str]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for name in names:
        box.add(mailbox.MaildirMessage(raw(name)))
    return path


def test_maildir_handles_each_message_once(tmp_path: Path, conn: sqlite3.Connection) -> None:
    box = make_maildir(tmp_path / "Maildir", all_names())
    counts = bounces.process(bounces.MaildirSource(box), conn, NOW, host=HOST, list_address=LIST)
    assert (counts.messages, counts.disabled, counts.unsubscribed, counts.ignored) == (13, 5, 1, 1)
    expect_after_one_pass(conn)
    assert os.listdir(box / "new") == []
    assert all(name.endswith(":2,S") for name in os.listdir(box / "cur"))
    again = bounces.process(bounces.MaildirSource(box), conn, NOW, host=HOST, list_address=LIST)
    assert again.messages == 0
    expect_after_one_pass(conn)


def test_third_soft_bounce_in_another_digest_disables(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    w10 = (
        raw("exim_soft_rfc3464")
        .replace(b"2026-W09.14.d50ee11528a98807", b"2026-W10.14.0000000000000000")
        .replace(b"E1vwQ3c-000Cde-1A", b"E1xxxxx-000Cde-1A")
    )
    repeat = raw("exim_soft_rfc3464").replace(b"E1vwQ3c-000Cde-1A", b"E1yyyyy-000Cde-1A")
    box = make_maildir(tmp_path / "Maildir", ["exim_soft_classic", "exim_soft_rfc3464"])
    mailbox.Maildir(box).add(repeat)  # a second warning for the same digest: still two
    bounces.process(bounces.MaildirSource(box), conn, NOW, host=HOST, list_address=LIST)
    assert statuses(conn)["dave@example.com"] == "active"
    mailbox.Maildir(box).add(w10)  # the key does not verify: found by address instead
    bounces.process(bounces.MaildirSource(box), conn, NOW, host=HOST, list_address=LIST)
    assert statuses(conn)["dave@example.com"] == "disabled"


def test_crash_before_the_flag_does_not_count_twice(
    tmp_path: Path, conn: sqlite3.Connection
) -> None:
    box = make_maildir(tmp_path / "Maildir", ["postfix_soft"])

    class Crashing(bounces.MaildirSource):
        def done(self, handle: str) -> None:
            raise KeyboardInterrupt  # killed after the commit, before the rename

    with pytest.raises(KeyboardInterrupt):
        bounces.process(Crashing(box), conn, NOW, host=HOST, list_address=LIST)
    counts = bounces.process(bounces.MaildirSource(box), conn, NOW, host=HOST, list_address=LIST)
    assert (counts.messages, counts.skipped, counts.soft) == (1, 1, 0)
    assert conn.execute("SELECT COUNT(*) FROM soft_bounces").fetchone()[0] == 1


def test_mbox_remembers_message_ids(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    for name in all_names():
        box.add(mailbox.mboxMessage(raw(name)))
    box.close()
    first = bounces.process(bounces.MboxSource(path), conn, NOW, host=HOST, list_address=LIST)
    assert (first.messages, first.skipped, first.disabled) == (13, 0, 5)
    expect_after_one_pass(conn)
    second = bounces.process(bounces.MboxSource(path), conn, NOW, host=HOST, list_address=LIST)
    assert (second.messages, second.skipped, second.disabled, second.soft) == (13, 13, 0, 0)
    expect_after_one_pass(conn)


# -- a real IMAP server ----------------------------------------------------------------------


@pytest.fixture
def imap_port() -> Iterator[int]:
    with dovecot() as port:
        yield port


def imap_source(port: int, **options: Any) -> bounces.ImapSource:
    return bounces.ImapSource("127.0.0.1", port, "news", "secret", security="none", **options)


def append_all(port: int, names: list[str], seen: tuple[str, ...] = ()) -> None:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("news", "secret")
    for name in names:
        flags = "(\\Seen)" if name in seen else None
        answer = client.append("INBOX", flags, None, raw(name))
        assert answer[0] == "OK", answer
    client.create("Processed")
    client.logout()


def folder_flags(port: int, folder: str = "INBOX") -> list[bytes]:
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login("news", "secret")
    _, count = client.select(folder, readonly=True)
    if count[0] == b"0":
        client.logout()
        return []
    typ, data = client.fetch("1:*", "(FLAGS)")
    client.logout()
    return [d for d in data if d] if typ == "OK" else []


def test_imap_keyword_marks_each_message_once(imap_port: int, conn: sqlite3.Connection) -> None:
    # A person already read one bounce: \Seen alone must not hide it from us.
    append_all(imap_port, all_names(), seen=("gmail_hard",))
    with imap_source(imap_port) as source:
        assert source.can_keyword
        counts = bounces.process(source, conn, NOW, host=HOST, list_address=LIST)
    assert (counts.messages, counts.disabled, counts.unsubscribed) == (13, 5, 1)
    expect_after_one_pass(conn)
    flags = folder_flags(imap_port)
    assert len(flags) == 13 and all(b"$FeedsHandled" in f and b"\\Seen" in f for f in flags)
    with imap_source(imap_port) as source:
        again = bounces.process(source, conn, NOW, host=HOST, list_address=LIST)
    assert again.messages == 0


def test_imap_move_to_folder(imap_port: int, conn: sqlite3.Connection) -> None:
    append_all(imap_port, ["postfix_hard", "autoreply"])
    with imap_source(imap_port, move_to="Processed") as source:
        counts = bounces.process(source, conn, NOW, host=HOST, list_address=LIST)
    assert (counts.messages, counts.disabled, counts.ignored) == (2, 1, 1)
    assert folder_flags(imap_port) == []
    assert len(folder_flags(imap_port, "Processed")) == 2


# -- the command ---------------------------------------------------------------------------------


def test_the_bounces_command_reads_a_maildir_once_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import Site

    toml = (
        '[site]\ntitle = "News"\nbase_url = "https://example.org/"\n'
        '[paths]\nseeds = "seeds"\nout = "public"\nstate = "state"\n'
        f'[digest]\nfrom = "{LIST}"\n'
    )
    site = Site(tmp_path / "site", toml)
    db = connect(site.state)
    with transaction(db):
        for sid, address in PEOPLE.items():
            db.execute(
                "INSERT INTO subscribers (id, email, token, added_at, status) VALUES (?, ?, ?, ?,"
                " 'active')",
                (sid, address, f"tok-{address.split('@')[0]}-0123456789abcdef", utc_text(NOW)),
            )
    box = make_maildir(tmp_path / "Maildir", all_names())
    now = NOW.isoformat()
    assert site.main("bounces", "--maildir", str(box), "--now", now, "-v") == 0
    assert "13 messages: 5 disabled" in capsys.readouterr().err
    expect_after_one_pass(db)
    assert site.main("bounces", "--maildir", str(box), "--now", now) == 0  # nothing new
    expect_after_one_pass(db)
    assert site.main("bounces", "--now", now) == 2  # no IMAP configured, no folder given
    assert "bounces.imap_host is not set" in capsys.readouterr().err
    db.close()
