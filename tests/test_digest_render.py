"""What the digest looks like: files in the publish folder, HTML for mail clients, text part."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import tempfile
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from babel.dates import format_date
from lxml import html as lxml_html
from PIL import Image

from feeds.mail.digest import date_range
from tests.browser import FLAGS, chromium, non_blank_fraction, screenshot
from tests.conftest import Site
from tests.digest_site import article, build, digest_toml, subscribe

WEEK = "2026-W08"


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """A site with three articles in the W08 digest, written (not sent) on Saturday."""
    site = Site(tmp_path, digest_toml(port=2525))
    article(site, "a1", "2026-02-16T09:00", "Перша <b>новина</b> & «лапки»")
    article(site, "a2", "2026-02-18T12:30", "Друга новина")
    article(site, "a3", "2026-02-20T16:59", "Третя новина")
    build(site, "2026-02-21T09:00")
    subscribe(site, "reader@example.org")
    assert site.main("digest", "--now", "2026-02-21T09:00") == 0
    return site


def page(site: Site) -> str:
    return (site.out / "digests" / f"{WEEK}.html").read_text(encoding="utf-8")


def public_eml(site: Site) -> EmailMessage:
    data = (site.out / "digests" / f"{WEEK}.eml").read_bytes()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def mail_html(site: Site) -> str:
    part = public_eml(site).get_body(("html",))
    assert part is not None
    return str(part.get_content())


def test_digest_files_are_written_and_listed_in_the_index(site: Site) -> None:
    names = sorted(p.name for p in (site.out / "digests").iterdir())
    assert names == [f"{WEEK}.eml", f"{WEEK}.html", f"{WEEK}.txt", "index.html"]
    index = (site.out / "digests" / "index.html").read_text(encoding="utf-8")
    assert f'href="{WEEK}.html"' in index


def test_html_is_a_complete_valid_document(site: Site) -> None:
    for text in (page(site), mail_html(site)):
        assert text.rstrip().endswith("</html>")
        tree = lxml_html.document_fromstring(text)
        assert tree.tag == "html"
        assert tree.find("head/title") is not None


def test_heading_names_the_dates_in_ukrainian(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    # The range's wording is Babel's (tests/test_digest_slots.py checks it against CLDR).
    assert date_range(date(2026, 2, 13), date(2026, 2, 20), "uk") in tree.findtext(".//h1")


def test_css_is_inlined_leaving_only_media_queries(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    styles = " ".join(s.text or "" for s in tree.iter("style"))
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", styles).strip() == ""
    assert "color" in tree.find(".//h1").get("style")


def test_table_layout_is_600_pixels_wide(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    assert any(t.get("width") == "600" for t in tree.iter("table"))


def test_dark_mode_meta_and_bgcolor_fallbacks(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    scheme = tree.find(".//meta[@name='color-scheme']")
    assert scheme is not None and "dark" in scheme.get("content")
    assert "prefers-color-scheme: dark" in mail_html(site)
    assert tree.find("body").get("bgcolor") and tree.find(".//table[@bgcolor]") is not None


def test_preheader_is_hidden_text_before_the_content(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    first = tree.find("body/div")
    assert "display: none" in first.get("style")
    assert "Друга новина" in first.text_content()


def test_each_article_has_title_date_summary_and_absolute_link(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    titles = [a.text_content() for a in tree.iterfind(".//h2/a")]
    assert titles == ["Перша <b>новина</b> & «лапки»", "Друга новина", "Третя новина"]
    links = [a.get("href") for a in tree.iterfind(".//h2/a")]
    assert all(link.startswith("https://news.example.org/articles/") for link in links)
    text = tree.text_content()
    assert format_date(date(2026, 2, 18), "long", locale="uk") in text
    assert "Короткий зміст статті a2." in text


def test_article_text_is_escaped_not_markup(site: Site) -> None:
    assert "<b>новина</b>" not in mail_html(site)
    assert "&lt;b&gt;новина&lt;/b&gt;" in mail_html(site)


def test_view_on_the_web_and_unsubscribe_links_are_visible(site: Site) -> None:
    tree = lxml_html.document_fromstring(mail_html(site))
    hrefs = {a.text_content().strip(): a.get("href") for a in tree.iter("a")}
    assert hrefs["Переглянути в браузері"] == f"https://news.example.org/digests/{WEEK}.html"
    assert hrefs["Відписатися"] == "mailto:news@news.example.org?subject=unsubscribe"


def test_text_part_comes_from_its_own_template(site: Site) -> None:
    text = (site.out / "digests" / f"{WEEK}.txt").read_text(encoding="utf-8")
    assert "<" not in text.replace("Перша <b>новина</b>", "")
    assert "Друга новина\n" in text
    assert "https://news.example.org/articles/" in text
    assert "Відписатися: mailto:news@news.example.org?subject=unsubscribe" in text


def test_public_eml_holds_no_subscriber_address(site: Site) -> None:
    folder = site.out / "digests"
    assert all(b"reader@example.org" not in p.read_bytes() for p in folder.iterdir())
    msg = public_eml(site)
    decoded = " ".join(str(part.get_content()) for part in msg.walk() if not part.is_multipart())
    assert "reader@example.org" not in decoded
    assert msg["To"] == "news@news.example.org"


def test_public_eml_is_multipart_alternative_text_first(site: Site) -> None:
    msg = public_eml(site)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_writing_the_digest_again_leaves_files_byte_identical(site: Site) -> None:
    before = {p.name: p.read_bytes() for p in (site.out / "digests").iterdir()}
    assert site.main("digest", "--now", "2026-02-22T09:00", "--week", WEEK) == 0
    assert {p.name: p.read_bytes() for p in (site.out / "digests").iterdir()} == before


def test_digest_page_renders_in_headless_chromium(site: Site, tmp_path: Path) -> None:
    png = screenshot((site.out / "digests" / f"{WEEK}.html").as_uri(), tmp_path / "d.png", 700, 900)
    assert non_blank_fraction(png) > 0.02


def test_mail_html_renders_in_headless_chromium(site: Site, tmp_path: Path) -> None:
    mail = tmp_path / "mail.html"
    mail.write_text(mail_html(site), encoding="utf-8")
    assert non_blank_fraction(screenshot(mail.as_uri(), tmp_path / "m.png", 700, 900)) > 0.02


DARK = "--blink-settings=preferredColorScheme=0"  # what a dark-mode system asks for


def shot(png: Path, page: Path) -> list[str]:
    return [f"--screenshot={png}", "--window-size=700,500", page.as_uri()]


def test_mail_html_turns_dark_in_dark_mode(site: Site, tmp_path: Path) -> None:
    mail = tmp_path / "mail.html"
    mail.write_text(mail_html(site), encoding="utf-8")
    png = tmp_path / "dark.png"
    with tempfile.TemporaryDirectory(prefix="feeds-chromium-") as profile:
        subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", DARK, *shot(png, mail)],
            capture_output=True,
            timeout=90,
            check=True,
        )
    with Image.open(png) as image:
        background, card = (
            image.convert("RGB").getpixel((5, 5)),
            image.convert("RGB").getpixel((350, 120)),
        )
    assert max(background) < 60 and max(card) < 60


def test_big_week_stays_under_gmail_clipping_and_links_the_rest(tmp_path: Path) -> None:
    site = Site(tmp_path, digest_toml(port=2525))
    for number in range(400):
        article(site, f"n{number:03d}", f"2026-02-{14 + number % 6:02d}T{number % 24:02d}:00")
    build(site, "2026-02-21T09:00")
    assert site.main("digest", "--now", "2026-02-21T09:00") == 0
    mail = mail_html(site)
    assert len(mail.encode("utf-8")) < 100_000
    shown = mail.count("<h2")
    assert 10 < shown < 400
    assert f"Ще {400 - shown} " in mail and f"/digests/{WEEK}.html" in mail
    assert page(site).count("<h2") == 400
