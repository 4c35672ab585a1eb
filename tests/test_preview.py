"""`feeds serve --watch`: a live preview in a temporary folder, reloaded in a real browser."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import browser
from tests.conftest import Site, tree
from tests.support_web import feeds_serve, get

NOW = "2026-03-01T12:00"
RELOAD_WITHIN = 2.0  # seconds from saving a seed to the open page showing it


@pytest.fixture
def built(site: Site) -> Site:
    """A site with a published article, a draft and a future article, built once."""
    site.seed("live.txt", "title: Перша назва\ndate: 2026-02-20\n\nТекст статті.\n")
    site.seed("hidden.txt", "title: Чернетка\ndate: 2026-02-21\ndraft: true\n\nЩе пишу.\n")
    site.seed("later.txt", "title: Завтрашня\ndate: 2026-12-31\n\nПотім.\n")
    result = site.run("build", "--now", NOW)
    assert result.returncode == 0, result.stderr
    return site


def poll(read: object, want: str, deadline: float) -> float:
    """Seconds until read() returns want; fails past deadline seconds."""
    assert callable(read)
    start = time.monotonic()
    while True:
        if read() == want:
            return time.monotonic() - start
        assert time.monotonic() - start < deadline, f"still {read()!r}, not {want!r}"
        time.sleep(0.02)  # polling the DOM with a deadline, not waiting for a time


def text_of(tab: browser.Tab, selector: str) -> object:
    """The trimmed text of the first element matching selector (None while there is none)."""
    found = f"document.querySelector({selector!r})"
    return tab.evaluate(f"{found} && {found}.textContent.trim()")


def test_edited_seed_shows_in_the_open_page_within_two_seconds(built: Site) -> None:
    with (
        feeds_serve(built, "--watch", "--now", NOW) as base,
        browser.Tab(base + "articles/persha-nazva.html") as tab,
    ):
        poll(lambda: text_of(tab, "h1"), "Перша назва", 30)
        seed = built.seeds / "live.txt"
        seed.write_text("title: Перша назва\ndate: 2026-02-20\n\nНовий текст.\n", "utf-8")
        took = poll(lambda: text_of(tab, ".body"), "Новий текст.", RELOAD_WITHIN)
        assert took < RELOAD_WITHIN


def test_a_template_change_rebuilds_the_preview(built: Site) -> None:
    templates = built.root / "templates"
    templates.mkdir()
    text = built.config_path.read_text("utf-8").replace(
        'state = "state"', 'state = "state"\ntemplates = "templates"'
    )
    built.config_path.write_text(text, "utf-8")
    with feeds_serve(built, "--watch", "--now", NOW) as base:
        (templates / "labels.toml").write_text('[uk]\narchive = "Геть усе"\n', "utf-8")
        poll(lambda: "Геть усе" in get(base).body.decode(), True, 10)  # type: ignore[arg-type]


def test_preview_never_touches_the_publish_folder_or_the_state(built: Site) -> None:
    out_before, state_before = tree(built.out), tree(built.state)
    with feeds_serve(built, "--watch", "--drafts", "--now", NOW) as base:
        built.seed("new.txt", "title: Нова\ndate: 2026-02-25\n\nТекст.\n")
        poll(lambda: get(base + "articles/nova.html").status, 200, 10)  # type: ignore[arg-type]
    assert tree(built.out) == out_before
    assert tree(built.state) == state_before


def test_drafts_and_future_articles_show_marked_with_drafts(built: Site) -> None:
    with feeds_serve(built, "--watch", "--drafts", "--now", NOW) as base:
        index = get(base).body.decode()
        draft = get(base + "articles/chernetka.html")
        future = get(base + "articles/zavtrashnia.html")
    assert draft.status == 200 and future.status == 200
    assert 'class="preview-mark"' in draft.body.decode()
    assert ">draft</span>" in draft.body.decode()
    assert ">scheduled</span>" in future.body.decode()
    assert index.count('class="preview-mark"') == 2


def test_drafts_stay_out_of_the_preview_without_drafts(built: Site) -> None:
    with feeds_serve(built, "--watch", "--now", NOW) as base:
        index = get(base).body.decode()
        assert get(base + "articles/chernetka.html").status == 404
        assert get(base + "articles/zavtrashnia.html").status == 404
    assert "Чернетка" not in index and "preview-mark" not in index


def test_preview_pages_carry_the_reload_script(built: Site) -> None:
    with feeds_serve(built, "--watch", "--now", NOW) as base:
        page = get(base + "articles/persha-nazva.html")
        events = get(base + "__feeds/events?since=0")
    assert b"/__feeds/events" in page.body and page.body.endswith(b"</body>\n</html>\n")
    assert page.header("Cache-Control") == "no-store"
    assert events.header("Content-Type") == "text/event-stream" and b"data: " in events.body


def test_plain_serve_sends_the_files_unchanged(built: Site) -> None:
    with feeds_serve(built) as base:
        page = get(base + "articles/persha-nazva.html")
        events = get(base + "__feeds/events")
    assert page.body == (built.out / "articles" / "persha-nazva.html").read_bytes()
    assert b"EventSource" not in page.body
    assert events.status == 404


def test_drafts_without_watch_is_a_usage_error(built: Site) -> None:
    result = built.run("serve", "--drafts")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "feeds: config error: --drafts needs --watch: a publish folder never holds drafts"
    ]


def test_preview_removes_its_temporary_folder(built: Site, tmp_path: Path) -> None:
    import os

    os.environ["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    try:
        with feeds_serve(built, "--watch", "--now", NOW):
            assert len(list((tmp_path / "tmp").glob("feeds-preview-*"))) == 1
    finally:
        del os.environ["TMPDIR"]
    assert list((tmp_path / "tmp").glob("feeds-preview-*")) == []
