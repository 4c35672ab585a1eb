"""Sending the digest to a real SMTP server (aiosmtpd on 127.0.0.1): once per subscriber."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from feeds.mail.digest import date_range
from tests.conftest import Site
from tests.digest_site import article, build, delivery_states, digest_toml, subscribe
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL

WEEK = "2026-W08"
SAT = "2026-02-21T10:00"
READERS = ("ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org")


@pytest.fixture
def site(tmp_path: Path, server: SmtpTestServer) -> Site:
    """Two W08 articles, published, four subscribers, mail going to the test server."""
    site = Site(tmp_path, digest_toml(server.port))
    article(site, "a1", "2026-02-18T12:00", "Перша новина")
    article(site, "a2", "2026-02-20T16:59", "Друга новина")
    build(site, SAT)
    subscribe(site, *READERS)
    return site


def send(site: Site, now: str = SAT, *extra: str) -> int:
    return site.main("digest", "--send", "--now", now, *extra)


def per_reader(server: SmtpTestServer) -> Counter[str]:
    return Counter(server.recipients())


def test_each_subscriber_gets_exactly_one_message(site: Site, server: SmtpTestServer) -> None:
    assert send(site) == 0
    assert per_reader(server) == Counter(READERS)


def test_each_message_has_one_envelope_recipient_and_is_addressed_to_it(
    site: Site, server: SmtpTestServer
) -> None:
    send(site)
    for received in server.messages:
        assert len(received.rcpt_tos) == 1
        assert received.message["To"] == received.rcpt_tos[0]
        assert received.message["Cc"] is None and received.message["Bcc"] is None


def test_message_is_multipart_alternative_text_then_html(
    site: Site, server: SmtpTestServer
) -> None:
    send(site)
    msg = server.messages[0].message
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert "Друга новина" in parts[0].get_content() and "</html>" in parts[1].get_content()


def test_headers_subject_from_date_and_message_id(site: Site, server: SmtpTestServer) -> None:
    send(site)
    msg = server.messages[0].message
    week = date_range(date(2026, 2, 13), date(2026, 2, 20), "uk")  # Babel's wording
    assert msg["Subject"] == f"Тестові новини: {week}"
    assert msg["From"].addresses[0].addr_spec == "news@news.example.org"
    assert msg["From"].addresses[0].display_name == "Тестові новини"
    assert msg["Date"].datetime.isoformat() == "2026-02-21T10:00:00+02:00"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@news.example.org>")
    assert msg["List-Id"].endswith("<digest.news.example.org>")


def test_message_ids_differ_per_subscriber(site: Site, server: SmtpTestServer) -> None:
    send(site)
    ids = {m.message["Message-ID"] for m in server.messages}
    assert len(ids) == len(READERS)


def test_list_unsubscribe_has_mailto_and_the_subscribers_token_url(
    site: Site, server: SmtpTestServer
) -> None:
    send(site)
    msg = server.messages[0].message
    mailto, url = (v.strip() for v in str(msg["List-Unsubscribe"]).split(","))
    assert mailto == "<mailto:news@news.example.org?subject=unsubscribe>"
    assert url.startswith("<https://news.example.org/unsubscribe?t=") and url.endswith(">")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_body_unsubscribe_link_carries_the_token_that_removes_the_subscriber(
    site: Site, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    send(site)
    received = server.messages[0]
    html = received.message.get_body(("html",))
    assert html is not None
    token = str(html.get_content()).split("unsubscribe?t=")[1].split('"')[0]
    assert token in str(received.message["List-Unsubscribe"])
    assert site.main("subscribers", "remove", "--token", token) == 0
    capsys.readouterr()
    site.main("subscribers", "list")
    assert received.rcpt_tos[0] not in capsys.readouterr().out.split()


def test_without_unsubscribe_url_only_mailto_and_no_post_header(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    site = Site(tmp_path, digest_toml(server.port, unsubscribe_url=""))
    article(site, "a1", "2026-02-18T12:00")
    build(site, SAT)
    subscribe(site, "ann@example.org")
    send(site)
    msg = server.messages[0].message
    assert msg["List-Unsubscribe"] == "<mailto:news@news.example.org?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None


def test_a_second_send_for_the_same_week_sends_nothing(site: Site, server: SmtpTestServer) -> None:
    send(site)
    assert send(site, "2026-02-21T11:00") == 0
    assert send(site, "2026-02-21T12:00", "--week", WEEK) == 0
    assert len(server.messages) == len(READERS)


def test_without_send_nothing_is_sent(site: Site, server: SmtpTestServer) -> None:
    assert site.main("digest", "--now", SAT) == 0
    assert site.main("digest", "--dry-run", "--now", SAT) == 0
    assert server.messages == [] and (site.out / "digests" / f"{WEEK}.eml").is_file()


def test_digest_written_without_send_goes_out_with_a_later_send(
    site: Site, server: SmtpTestServer
) -> None:
    site.main("digest", "--now", SAT)
    assert send(site, "2026-02-21T12:00") == 0
    assert per_reader(server) == Counter(READERS)


def test_quiet_on_success(
    site: Site, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    send(site)
    assert capsys.readouterr() == ("", "")


def test_one_line_summary_with_v(
    site: Site, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    site.main("-v", "digest", "--send", "--now", SAT)
    assert "digests/2026-W08: 2 articles; sent 4, failed 0, waiting 0" in capsys.readouterr().err


def test_550_marks_that_subscriber_failed_and_the_rest_go_on(
    site: Site, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.refuse["bob@example.org"] = "550 5.1.1 no such user"
    assert send(site) == 0
    assert per_reader(server) == Counter(set(READERS) - {"bob@example.org"})
    assert delivery_states(site, WEEK)["bob@example.org"] == "perm_fail"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bob@example.org" in err[0] and "550" in err[0]


def test_failed_address_is_not_tried_again(site: Site, server: SmtpTestServer) -> None:
    server.refuse["bob@example.org"] = "550 5.1.1 no such user"
    send(site)
    del server.refuse["bob@example.org"]
    send(site, "2026-02-22T10:00")
    assert "bob@example.org" not in per_reader(server)


def test_451_defers_that_subscriber_and_exits_4(site: Site, server: SmtpTestServer) -> None:
    server.refuse["cat@example.org"] = "451 4.3.0 try again later"
    assert send(site) == 4
    assert per_reader(server) == Counter(set(READERS) - {"cat@example.org"})
    assert delivery_states(site, WEEK)["cat@example.org"] == "temp_fail"


def test_deferred_message_is_not_retried_before_its_backoff(
    site: Site, server: SmtpTestServer
) -> None:
    server.refuse["cat@example.org"] = "451 4.3.0 try again later"
    send(site)
    del server.refuse["cat@example.org"]
    assert send(site, "2026-02-21T10:01") == 4
    assert "cat@example.org" not in per_reader(server)


def test_deferred_message_is_delivered_on_a_later_run(site: Site, server: SmtpTestServer) -> None:
    server.refuse["cat@example.org"] = "451 4.3.0 try again later"
    send(site)
    del server.refuse["cat@example.org"]
    assert send(site, "2026-02-21T10:06") == 0
    assert per_reader(server) == Counter(READERS)


def test_deferred_message_is_given_up_after_three_days(site: Site, server: SmtpTestServer) -> None:
    server.refuse["cat@example.org"] = "451 4.3.0 try again later"
    send(site)
    assert send(site, "2026-02-22T10:00") == 4
    assert send(site, "2026-02-24T10:01") == 0
    assert delivery_states(site, WEEK)["cat@example.org"] == "perm_fail"


def test_refused_sender_stops_the_run_and_marks_nobody_failed(
    site: Site, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.refuse_sender("530 5.7.0 Authentication required")
    assert send(site) == 4
    assert "refused the sender news@news.example.org: 530" in capsys.readouterr().err
    assert set(delivery_states(site, WEEK).values()) == {"pending"}
    server.refuse_sender(None)
    assert send(site, "2026-02-21T10:01") == 0
    assert per_reader(server) == Counter(READERS)


def test_connection_dropped_mid_batch_reconnects_for_the_rest(
    site: Site, server: SmtpTestServer
) -> None:
    server.drop_at(2)
    assert send(site) == 4
    assert len(server.messages) == len(READERS) - 1
    assert sorted(delivery_states(site, WEEK).values()).count("temp_fail") == 1


def test_message_lost_to_a_dropped_connection_is_sent_on_a_later_run(
    site: Site, server: SmtpTestServer
) -> None:
    server.drop_at(2)
    send(site)
    assert send(site, "2026-02-21T10:06") == 0
    assert per_reader(server) == Counter(READERS)


def test_unreachable_server_exits_4_and_a_later_run_delivers(
    tmp_path: Path, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.smtp_server import free_port

    site = Site(tmp_path, digest_toml(free_port()))
    article(site, "a1", "2026-02-18T12:00")
    build(site, SAT)
    subscribe(site, *READERS)
    assert send(site) == 4
    assert "cannot reach SMTP server" in capsys.readouterr().err
    assert set(delivery_states(site, WEEK).values()) == {"pending"}
    site.config_path.write_text(digest_toml(server.port), encoding="utf-8")
    assert send(site, "2026-02-21T10:01") == 0
    assert per_reader(server) == Counter(READERS)


def test_subscriber_removed_before_sending_gets_nothing(site: Site, server: SmtpTestServer) -> None:
    site.main("digest", "--now", SAT)
    server.refuse["ann@example.org"] = "451 4.3.0 later"
    send(site)
    assert site.main("subscribers", "remove", "ann@example.org") == 0
    del server.refuse["ann@example.org"]
    assert send(site, "2026-02-21T11:00") == 0
    assert "ann@example.org" not in per_reader(server)
    assert delivery_states(site, WEEK)["ann@example.org"] == "cancelled"


def test_subscriber_added_after_the_digest_went_out_waits_for_the_next(
    site: Site, server: SmtpTestServer
) -> None:
    send(site)
    subscribe(site, "new@example.org")
    send(site, "2026-02-22T10:00", "--week", WEEK)
    assert "new@example.org" not in per_reader(server)


def test_retries_of_an_older_digest_go_on_with_the_next_weeks_send(
    site: Site, server: SmtpTestServer
) -> None:
    server.refuse["cat@example.org"] = "451 4.3.0 later"
    send(site)
    del server.refuse["cat@example.org"]
    article(site, "w09", "2026-02-25T12:00")
    build(site, "2026-02-27T17:10")
    assert send(site, "2026-02-27T17:10") == 0
    weeks = Counter((m.rcpt_tos[0], m.message["X-Feeds-Digest"]) for m in server.messages)
    assert weeks[("cat@example.org", WEEK)] == 1 and weeks[("cat@example.org", "2026-W09")] == 1
