"""`feeds build` and `feeds check` on seeds: skipped files, drafts, due dates, ids, slugs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from feeds.read.slugs import make_slug
from tests.conftest import SHARED_SEED, SITE_TOML, Site

NOW = "2026-03-01T12:00"
GOOD = "date 2026-02-20\n\nДобра стаття про щось важливе, що сталося сьогодні.\n"
GOOD_SLUG = "dobra-stattia-pro-shchos-vazhlyve"


def items(site: Site) -> list[dict[str, Any]]:
    """The items of the published JSON Feed, newest first."""
    feed: dict[str, Any] = json.loads((site.out / "feed.json").read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = feed["items"]
    return result


def ids(site: Site) -> list[str]:
    """Article ids (file stems) in the published JSON Feed."""
    return [item["id"].rpartition(":")[2] for item in items(site)]


def article_files(site: Site) -> list[str]:
    """Names of the published article pages."""
    return sorted(p.name for p in (site.out / "articles").iterdir())


def stderr_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What the last command printed on stderr, line by line."""
    return capsys.readouterr().err.splitlines()


# One test per bad-input class: a single stderr line, exit 0, the good seed still published. -----

BAD_SEEDS: dict[str, tuple[str, bytes, str]] = {
    "no-date": ("002_bad.txt", "title: Без дати\n\nТекст.".encode(), "no date line"),
    "impossible-date": (
        "002_bad.txt",
        b"date 2026-02-30\n\nText.",
        "invalid date '2026-02-30': day is out of range for month",
    ),
    "word-for-a-date": ("002_bad.txt", b"date: tomorrow\n\nText.", "invalid date 'tomorrow'"),
    "year-out-of-range": (
        "002_bad.txt",
        b"date 3000-01-01\n\nText.",
        "invalid date '3000-01-01': year outside 1000-2999",
    ),
    "no-title-no-text": ("002_bad.txt", b"date: 2026-02-20\n", "no title and no text"),
    "lead-without-words": (
        "002_bad.txt",
        "date 2026-02-20\n\n...\n\nДалі текст.".encode(),
        "no title: the lead has no words to make one; add a title line",
    ),
    "empty-file": ("002_bad.txt", b"", "empty file"),
    "broken-utf8": (
        "002_bad.txt",
        "date 2026-02-20\n\nУкраїнський текст ".encode() + b"\xd0\xff",
        "not valid UTF-8 (byte 0xd0 at offset 51)",
    ),
    "binary": (
        "002_bad.txt",
        b"date 2026-02-20\n\n\x89PNG\x00\x00",
        "binary file (contains NUL bytes)",
    ),
    "bad-draft": (
        "002_bad.txt",
        b"date 2026-02-20\ndraft: perhaps\n\nText.",
        "draft must be true or false, got 'perhaps'",
    ),
    "in-subfolder": ("news/2026/002_bad.txt", b"date 2026-02-31\n\nText.", "invalid date"),
    "same-id-twice": ("news/001_good.md", GOOD.encode(), "same file name (id) as 001_good.txt"),
}


@pytest.mark.parametrize("case", list(BAD_SEEDS), ids=list(BAD_SEEDS))
def test_bad_seed_is_skipped_with_one_line_and_the_rest_published(
    site: Site, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, data, reason = BAD_SEEDS[case]
    site.seed("001_good.txt", GOOD)
    site.seed(name, data)
    status = site.main("build", "--seeds", str(site.seeds), "--now", NOW)
    lines = stderr_lines(capsys)
    assert status == 0
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{site.seeds}/{name}: {reason}")
    assert ids(site) == ["001_good"]


def test_oversized_seed_is_skipped_naming_the_limit(
    make_site: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    site: Site = make_site(SITE_TOML + "\n[seeds]\nmax_bytes = 100\n")
    site.seed("001_good.txt", GOOD[:60])
    site.seed("002_big.txt", GOOD + "x" * 100)
    size = (site.seeds / "002_big.txt").stat().st_size
    assert site.main("build", "--seeds", str(site.seeds), "--now", NOW) == 0
    assert stderr_lines(capsys) == [
        f"{site.seeds}/002_big.txt: file is {size} bytes, larger than seeds.max_bytes (100)"
    ]
    assert ids(site) == ["001_good"]


def test_symlink_out_of_the_folder_is_skipped_with_one_line(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    secret = tmp_path / "secret.txt"
    secret.write_text("date 2026-02-20\n\nSecret.", encoding="utf-8")
    (site.seeds / "002_link.txt").symlink_to(secret)
    assert site.main("build", "--seeds", str(site.seeds), "--now", NOW) == 0
    assert stderr_lines(capsys) == [
        f"{site.seeds}/002_link.txt: symlink points outside the seeds folder"
    ]
    assert ids(site) == ["001_good"]


def test_skipped_seed_is_reported_again_on_the_next_build(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_bad.txt", b"date 2026-02-30\n\nText.")
    site.main("build", "--now", NOW)
    first = stderr_lines(capsys)
    site.main("build", "--now", NOW)
    assert stderr_lines(capsys) == first
    assert len(first) == 1


def test_strict_build_exits_3_when_a_seed_is_skipped(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_bad.txt", b"date 2026-02-30\n\nText.")
    assert site.main("build", "--strict", "--now", NOW) == 3
    assert ids(site) == ["001_good"]


def test_strict_build_exits_0_when_every_seed_is_good(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    assert site.main("build", "--strict", "--now", NOW) == 0


def test_check_exits_3_and_reports_when_a_seed_would_be_skipped(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_bad.txt", b"date 2026-02-30\n\nText.")
    assert site.main("check", "--seeds", str(site.seeds), "--now", NOW) == 3
    assert stderr_lines(capsys) == [
        f"{site.seeds}/002_bad.txt: invalid date '2026-02-30': day is out of range for month"
    ]


def test_check_publishes_nothing(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    assert site.main("check", "--now", NOW) == 0
    assert not site.out.exists()


def test_check_is_quiet_and_exits_0_when_all_seeds_are_good(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.seed("001_good.txt", GOOD)
    assert site.main("check", "--now", NOW) == 0
    assert capsys.readouterr().err == ""


def test_cli_reports_seeds_path_as_given_with_no_traceback(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("news/002_bad.txt", b"date 2026-02-30\n\nText.")
    done = site.run("build", "--seeds", "seeds", "--now", NOW)
    assert done.returncode == 0
    assert done.stderr == (
        "seeds/news/002_bad.txt: invalid date '2026-02-30': day is out of range for month\n"
    )
    assert done.stdout == ""


# Drafts and due dates ----------------------------------------------------------------------------


def test_draft_is_never_published(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_draft.txt", "date 2026-02-21\ndraft true\n\nЧернетка статті, ще не готова.")
    assert site.main("build", "--now", "2026-06-01") == 0
    assert ids(site) == ["001_good"]
    assert article_files(site) == [f"{GOOD_SLUG}.html"]


def test_draft_turned_off_is_published(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_draft.txt", "date 2026-02-21\ndraft true\n\nЧернетка статті, ще не готова.")
    site.main("build", "--now", NOW)
    site.seed("002_draft.txt", "date 2026-02-21\ndraft false\n\nЧернетка статті, ще не готова.")
    site.main("build", "--now", NOW)
    assert ids(site) == ["002_draft", "001_good"]


def test_future_article_is_held_back_until_now_reaches_it(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.seed("002_later.txt", "date 2026-02-25T10:00\n\nСтаття на майбутнє, ще не час.")
    site.main("build", "--now", "2026-02-25T09:59")
    assert ids(site) == ["001_good"]
    site.main("build", "--now", "2026-02-25T10:00")
    assert ids(site) == ["002_later", "001_good"]


def test_future_article_has_no_page_before_it_is_due(site: Site) -> None:
    site.seed("002_later.txt", "date 2026-02-25T10:00\n\nСтаття на майбутнє, ще не час.")
    site.seed("001_good.txt", GOOD)
    site.main("build", "--now", "2026-02-21")
    assert article_files(site) == [f"{GOOD_SLUG}.html"]
    assert "майбутнє" not in (site.out / "index.html").read_text(encoding="utf-8")


def test_now_option_is_read_in_the_site_timezone(site: Site) -> None:
    # 09:30 Kyiv is 07:30 UTC: a naive --now of 08:00 is Kyiv time, so still too early.
    site.seed("001_good.txt", "date 2026-02-20 09:30+02:00 Ранкова новина, що вийде о 09:30.")
    site.main("build", "--now", "2026-02-20T08:00")
    assert ids(site) == []
    site.main("build", "--now", "2026-02-20T09:30")
    assert ids(site) == ["001_good"]


# Identity: ids and GUIDs from the file stem -----------------------------------------------


def test_feed_ids_are_tag_uris_from_the_stem(site: Site) -> None:
    site.seed(SHARED_SEED.name, SHARED_SEED.read_bytes())
    site.main("build", "--now", NOW)
    assert [item["id"] for item in items(site)] == [
        "tag:news.example.org,2026:000_91005bd04970e0af"
    ]


def test_id_survives_changes_of_text_title_and_date(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.main("build", "--now", NOW)
    before = items(site)[0]["id"]
    site.seed("001_good.txt", "date 2026-02-22\ntitle: Новий заголовок\n\nІнший текст.")
    site.main("build", "--now", NOW)
    after = items(site)[0]
    assert after["title"] == "Новий заголовок"
    assert after["id"] == before == "tag:news.example.org,2026:001_good"


def test_id_year_defaults_to_2000(make_site: Any) -> None:
    site: Site = make_site(SITE_TOML.replace("id_year = 2026\n", ""))
    site.seed("001_good.txt", GOOD)
    site.main("build", "--now", NOW)
    assert items(site)[0]["id"] == "tag:news.example.org,2000:001_good"


# Slugs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Україна пропонує Японії", "ukraina-proponuie-yaponii"),
        ("Згорани та Розгон", "zghorany-ta-rozghon"),
        ("Юрій Їжакевич", "yurii-yizhakevych"),
        ("Щербухи, Знам'янка", "shcherbukhy-znamianka"),
        ("Житомир і Львів", "zhytomyr-i-lviv"),
        ("«Лапки» — і тире!", "lapky-i-tyre"),
    ],
)
def test_slug_is_transliterated_by_the_national_standard(title: str, slug: str) -> None:
    assert make_slug(title) == slug


def test_slug_is_readable_ascii_of_at_most_80_characters() -> None:
    slug = make_slug("Дуже довгий заголовок " * 10)
    assert slug.isascii()
    assert len(slug) <= 80
    assert not slug.endswith("-")


def test_shared_seed_page_has_its_transliterated_slug(site: Site) -> None:
    site.seed(SHARED_SEED.name, SHARED_SEED.read_bytes())
    site.main("build", "--now", NOW)
    assert article_files(site) == [
        "ukraina-proponuie-yaponii-zapochatkuvaty-oboronne-partnerstvo.html"
    ]


def test_slug_header_names_the_page(site: Site) -> None:
    site.seed("001_good.txt", "date 2026-02-20\nslug: Мій Шлях\n\nТекст статті про шлях.")
    site.main("build", "--now", NOW)
    assert article_files(site) == ["mii-shliakh.html"]


def test_slug_clash_gives_the_earlier_date_the_plain_slug(site: Site) -> None:
    site.seed("001_later.txt", "date 2026-02-21\ntitle: Новини дня\n\nПізніша.")
    site.seed("002_earlier.txt", "date 2026-02-20\ntitle: Новини дня\n\nРанніша.")
    site.main("build", "--now", NOW)
    urls = {item["id"].rpartition(":")[2]: item["url"] for item in items(site)}
    assert urls["002_earlier"].endswith("/articles/novyny-dnia.html")
    assert urls["001_later"].endswith("/articles/novyny-dnia-2.html")


def test_slug_clash_on_the_same_date_goes_by_stem(site: Site) -> None:
    site.seed("002_b.txt", "date 2026-02-20\ntitle: Новини дня\n\nДруга.")
    site.seed("001_a.txt", "date 2026-02-20\ntitle: Новини дня\n\nПерша.")
    site.seed("003_c.txt", "date 2026-02-20\ntitle: Новини дня\n\nТретя.")
    site.main("build", "--now", NOW)
    urls = {item["id"].rpartition(":")[2]: item["url"] for item in items(site)}
    assert urls["001_a"].endswith("/novyny-dnia.html")
    assert urls["002_b"].endswith("/novyny-dnia-2.html")
    assert urls["003_c"].endswith("/novyny-dnia-3.html")


def test_changed_title_keeps_the_published_slug(site: Site) -> None:
    site.seed("001_good.txt", GOOD)
    site.main("build", "--now", NOW)
    site.seed("001_good.txt", "date 2026-02-20\ntitle: Зовсім інший заголовок\n\nТекст.")
    site.main("build", "--now", NOW)
    assert article_files(site) == [f"{GOOD_SLUG}.html"]
    page = (site.out / "articles" / f"{GOOD_SLUG}.html").read_text(encoding="utf-8")
    assert "Зовсім інший заголовок" in page


def test_published_slug_is_kept_when_an_earlier_article_arrives_later(site: Site) -> None:
    site.seed("002_first.txt", "date 2026-02-21\ntitle: Новини дня\n\nОпублікована першою.")
    site.main("build", "--now", NOW)
    site.seed("001_late.txt", "date 2026-02-20\ntitle: Новини дня\n\nДодана пізніше.")
    site.main("build", "--now", NOW)
    urls = {item["id"].rpartition(":")[2]: item["url"] for item in items(site)}
    assert urls["002_first"].endswith("/novyny-dnia.html")
    assert urls["001_late"].endswith("/novyny-dnia-2.html")


def test_removed_article_keeps_its_slug_reserved(site: Site) -> None:
    site.seed("001_a.txt", "date 2026-02-20\ntitle: Новини дня\n\nПерша.")
    site.main("build", "--now", NOW)
    os.remove(site.seeds / "001_a.txt")
    site.seed("002_b.txt", "date 2026-02-21\ntitle: Новини дня\n\nДруга.")
    site.main("build", "--now", NOW)
    assert article_files(site) == ["novyny-dnia-2.html"]


# Byte-stable output ------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def stats(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file under root."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def repository_site(root: Path) -> Site:
    """A site folder holding the repository's seeds."""
    site = Site(root)
    for path in sorted((Path(__file__).parent.parent / "seeds").iterdir()):
        site.seed(path.name, path.read_bytes())
    return site


def test_two_builds_into_fresh_folders_give_identical_bytes(tmp_path: Path) -> None:
    first = repository_site(tmp_path / "a")
    second = repository_site(tmp_path / "b")
    assert first.main("build", "--now", NOW) == 0
    assert second.main("build", "--now", "2026-06-30T23:59") == 0
    assert snapshot(first.out) == snapshot(second.out)


def test_second_build_rewrites_nothing(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    site.main("build", "--now", NOW)
    before = stats(site.out)
    site.main("build", "--now", "2026-04-01T08:00")
    assert stats(site.out) == before


def test_build_after_losing_the_state_rewrites_nothing(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    site.main("build", "--now", NOW)
    before = stats(site.out)
    for path in sorted(site.state.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    site.main("build", "--now", NOW)
    assert stats(site.out) == before


def test_repository_seeds_build_strictly_clean(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    assert site.main("build", "--strict", "--now", NOW) == 0


def test_repository_draft_is_not_published(tmp_path: Path) -> None:
    site = repository_site(tmp_path)
    site.main("build", "--now", NOW)
    assert "005_power_schedule_draft" not in ids(site)
    assert len(ids(site)) == 6
