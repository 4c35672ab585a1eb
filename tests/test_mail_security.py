"""Mail security: verified TLS, login from the environment, DKIM, no header injection."""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
import re
import ssl
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest

from feeds.config import Config, DigestConfig, SiteConfig
from feeds.mail.headers import HeaderError
from feeds.mail.message import build_message, recipient_for
from feeds.store.mailing import DigestRow, Subscriber
from tests.conftest import Site
from tests.digest_site import article, build, digest_toml, subscribe
from tests.smtp_server import Received, smtp_server

SAT = "2026-02-21T10:00"
PASSWORD = "s3cret-Pa55"


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    )  # fmt: skip
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bytes]:
    """An RSA key pair: (private PEM, DNS TXT record with the public key)."""
    folder = tmp_path_factory.mktemp("dkim")
    private, public = folder / "private.pem", folder / "public.der"
    openssl(
        "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", str(private)
    )
    openssl("pkey", "-in", str(private), "-pubout", "-outform", "DER", "-out", str(public))
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public.read_bytes())
    return private.read_text(), record


def mail_site(tmp_path: Path, port: int, extra: str = "") -> Site:
    site = Site(tmp_path, digest_toml(port).replace('security = "none"\n', "") + extra)
    article(site, "a1", "2026-02-18T12:00")
    build(site, SAT)
    subscribe(site, "ann@example.org", "bob@example.org")
    return site


def send(site: Site) -> int:
    return site.main("digest", "--send", "--now", SAT)


def send_signed(tmp_path: Path, private_key: str, monkeypatch: pytest.MonkeyPatch) -> Received:
    """Send the digest DKIM-signed with private_key to a local server; what it received."""
    monkeypatch.setenv("TEST_DKIM_KEY", private_key)
    with smtp_server() as server:
        extra = with_security("none") + 'dkim_selector = "mail"\ndkim_key_env = "TEST_DKIM_KEY"\n'
        assert send(mail_site(tmp_path, server.port, extra)) == 0
        return server.messages[0]


def with_security(security: str) -> str:
    return f'security = "{security}"\n'


def test_starttls_with_a_verified_certificate_delivers(
    tmp_path: Path, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with smtp_server(tls_context=server_context(certificate), require_starttls=True) as server:
        site = mail_site(tmp_path, server.port, "")
        assert send(site) == 0
        assert len(server.messages) == 2


def test_starttls_refuses_an_untrusted_certificate(
    tmp_path: Path, certificate: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with smtp_server(tls_context=server_context(certificate)) as server:
        site = mail_site(tmp_path, server.port, "")
        assert send(site) == 4
        assert server.messages == []
        assert "certificate verify failed: self-signed" in capsys.readouterr().err


def test_starttls_required_but_not_offered_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with smtp_server() as server:
        site = mail_site(tmp_path, server.port, "")
        assert send(site) == 4
        assert server.messages == []
        assert "STARTTLS" in capsys.readouterr().err


def test_implicit_tls_delivers(
    tmp_path: Path, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with smtp_server(tls_context=server_context(certificate), implicit_tls=True) as server:
        site = mail_site(tmp_path, server.port, "")
        site.config_path.write_text(
            site.config_path.read_text() + with_security("tls"), encoding="utf-8"
        )
        assert send(site) == 0
        assert len(server.messages) == 2


NO_TLS_WARNING = "ignore:Requiring AUTH while not requiring TLS"


@pytest.mark.filterwarnings(NO_TLS_WARNING)
def test_login_uses_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    with smtp_server(logins={"mailer": PASSWORD}, auth_required=True) as server:
        extra = with_security("none") + 'user = "mailer"\npassword_env = "TEST_SMTP_PASSWORD"\n'
        site = mail_site(tmp_path, server.port, extra)
        assert send(site) == 0
        assert len(server.messages) == 2


@pytest.mark.filterwarnings(NO_TLS_WARNING)
def test_refused_login_exits_4_without_showing_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-" + PASSWORD)
    with smtp_server(logins={"mailer": PASSWORD}, auth_required=True) as server:
        extra = with_security("none") + 'user = "mailer"\npassword_env = "TEST_SMTP_PASSWORD"\n'
        site = mail_site(tmp_path, server.port, extra)
        assert site.main("-vv", "digest", "--send", "--now", SAT) == 4
        captured = capsys.readouterr()
        assert "refused the login as mailer" in captured.err
        assert PASSWORD not in captured.err + captured.out
        assert server.messages == []


def test_user_without_password_in_the_environment_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    with smtp_server() as server:
        extra = with_security("none") + 'user = "mailer"\npassword_env = "TEST_SMTP_PASSWORD"\n'
        site = mail_site(tmp_path, server.port, extra)
        assert send(site) == 4
        assert "TEST_SMTP_PASSWORD" in capsys.readouterr().err


def test_dkim_signature_verifies_against_the_public_key(
    tmp_path: Path, dkim_key: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, record = dkim_key
    data = send_signed(tmp_path, private, monkeypatch).data

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == b"mail._domainkey.news.example.org." else None

    assert dkim.verify(data, dnsfunc=dns)


def test_dkim_signature_covers_from_subject_and_list_unsubscribe(
    tmp_path: Path, dkim_key: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    header = send_signed(tmp_path, dkim_key[0], monkeypatch).message["DKIM-Signature"]
    signed = re.search(r"h=([^;]+)", re.sub(r"\s", "", str(header)))
    assert signed is not None
    names = {name.lower() for name in signed.group(1).split(":")}
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= names


def test_tampered_message_fails_dkim(
    tmp_path: Path, dkim_key: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, record = dkim_key
    data = send_signed(tmp_path, private, monkeypatch).data
    tampered = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"X-A: b", 1)
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: record)


def _digest(subject: str) -> DigestRow:
    return DigestRow(
        week="2026-W08", slot="", start="", created_at="2026-02-21T08:00:00.000000Z",
        queued_at=None, done=False, articles=1, heading="h", subject=subject, marker="MARK",
        web_html="<html></html>", mail_html="<html>MARK</html>", mail_text="MARK",
    )  # fmt: skip


CONFIG = Config(
    site=SiteConfig(base_url="https://news.example.org/"),
    digest=DigestConfig(from_="news@news.example.org"),
)
NOW = datetime(2026, 2, 21, 8, tzinfo=UTC)


@pytest.mark.parametrize("value", ["Hi\r\nBcc: victim@example.org", "Hi\nX: y", "Hi\rX: y"])
def test_a_line_break_in_the_subject_becomes_a_space(value: str) -> None:
    reader = Subscriber(1, "ann@example.org", "", "tok", "")
    data = build_message(CONFIG, _digest(value), recipient_for(CONFIG, "2026-W08", reader), NOW)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Subject"] == " ".join(value.split())
    assert parsed["Bcc"] is None and parsed["X"] is None


def test_an_unsubscribe_url_cannot_smuggle_a_header() -> None:
    config = dataclasses.replace(
        CONFIG, digest=DigestConfig(from_="news@news.example.org", unsubscribe_url="x{token}")
    )
    reader = Subscriber(1, "ann@example.org", "", "a\r\nBcc: v@example.org", "")
    with pytest.raises(HeaderError, match="only printable ASCII"):
        build_message(config, _digest("s"), recipient_for(config, "2026-W08", reader), NOW)


def test_subscriber_name_with_line_breaks_is_folded_to_one_line(tmp_path: Path) -> None:
    with smtp_server() as server:
        site = mail_site(tmp_path, server.port, with_security("none"))
        assert site.main("subscribers", "add", "eve@example.org", "--name", "Eve\r\nBcc: x@y") == 0
        send(site)
        eve = next(m for m in server.messages if m.rcpt_tos == ("eve@example.org",))
    assert eve.message["Bcc"] is None
    assert eve.message["To"].addresses[0].display_name == "Eve Bcc: x@y"
