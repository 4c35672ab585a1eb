"""The digest's size on the wire: 8bit to 8BITMIME servers, the shorter of quoted-printable
and base64 otherwise, and the Gmail clipping budget counted on the encoded bytes."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest

from tests.conftest import Site
from tests.digest_site import article, build, digest_toml
from tests.smtp_server import smtp_server
from tests.test_mail_security import dkim_key  # noqa: F401  (a module-scoped fixture)

NOW = "2026-02-21T09:00"
GMAIL_CLIPS_AT = 102 * 1024


def big_week(root: Path, port: int, articles: int, extra: str = "") -> Site:
    """A Ukrainian site with `articles` articles in the week of 2026-W08 and one subscriber."""
    site = Site(root, digest_toml(port) + extra)
    for number in range(articles):
        article(site, f"n{number:03d}", f"2026-02-{14 + number % 6:02d}T{number % 24:02d}:00")
    build(site, NOW)
    assert site.main("subscribers", "add", "ann@example.org") == 0
    return site


def part(data: bytes, kind: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body bytes as sent) of the text/<kind> part."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    marker = ("--" + str(parsed.get_boundary())).encode()
    for segment in data.split(marker):
        head, _, body = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if f"Content-Type: text/{kind}".encode() in head:
            sub = email.message_from_bytes(head + b"\r\n\r\n", policy=email.policy.default)
            return str(sub["Content-Transfer-Encoding"]), body.removesuffix(b"\r\n")
    raise AssertionError(f"no text/{kind} part")


def html_of(data: bytes) -> str:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def test_a_cyrillic_digest_goes_8bit_to_an_8bitmime_server_and_dkim_still_verifies(
    tmp_path: Path,
    dkim_key: tuple[str, bytes],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_DKIM_KEY", dkim_key[0])
    with smtp_server() as server:
        signing = 'dkim_selector = "mail"\ndkim_key_env = "TEST_DKIM_KEY"\n'
        site = big_week(tmp_path, server.port, 60, signing)
        assert site.main("digest", "--send", "--now", NOW) == 0
        (received,) = server.messages
    cte, wire = part(received.data, "html")
    raw = len(html_of(received.data).encode("utf-8"))
    assert cte == "8bit"
    assert len(wire) / raw < 1.1
    assert dkim.verify(received.data, dnsfunc=lambda name, timeout=5: dkim_key[1])


def test_without_8bitmime_the_message_is_7bit_in_the_shorter_encoding(tmp_path: Path) -> None:
    with smtp_server(eight_bit_mime=False) as server:
        site = big_week(tmp_path, server.port, 60)
        assert site.main("digest", "--send", "--now", NOW) == 0
        (received,) = server.messages
    assert received.data.isascii()
    cte, wire = part(received.data, "html")
    sizes = {}
    for encoding in ("base64", "quoted-printable"):
        probe = EmailMessage(policy=email.policy.SMTP)
        probe.set_content(html_of(received.data), subtype="html", cte=encoding)
        sizes[encoding] = len(part(probe.as_bytes(), "html")[1])
    assert cte == min(sizes, key=sizes.__getitem__)
    assert abs(len(wire) - sizes[cte]) <= 2  # the probe ends without a closing boundary


@pytest.mark.parametrize("eight_bit_mime", [False, True], ids=["7bit-server", "8bitmime"])
def test_a_big_week_stays_under_gmail_clipping_on_the_wire(
    tmp_path: Path, eight_bit_mime: bool
) -> None:
    with smtp_server(eight_bit_mime=eight_bit_mime) as server:
        site = big_week(tmp_path, server.port, 400)
        assert site.main("digest", "--send", "--now", NOW) == 0
        (received,) = server.messages
    assert len(received.data) < GMAIL_CLIPS_AT
    eml = site.out / "digests" / "2026-W08.eml"
    assert len(eml.read_bytes()) < GMAIL_CLIPS_AT
    assert "/digests/2026-W08.html" in html_of(received.data)  # the rest is linked
