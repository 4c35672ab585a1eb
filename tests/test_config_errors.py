"""Hostile or broken feeds.toml: one clear line naming the problem, exit 2, nothing published."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Site

PATHS = '[paths]\nseeds = "seeds"\nout = "public"\nstate = "state"\n'
SEED = "date 2026-02-20\n\nДобра стаття про щось важливе.\n"

# case: (feeds.toml text, the error line after "feeds: config error: <file>: ")
CASES: dict[str, tuple[str, str]] = {
    "title-with-crlf": (
        PATHS + '[site]\ntitle = "News\\r\\nBcc: victim@example.org"\n',
        "site.title must not contain line breaks",
    ),
    "from-with-crlf": (
        PATHS + '[digest]\nfrom = "news@example.org\\r\\nBcc: victim@example.org"\n',
        "digest.from must not contain line breaks",
    ),
    "subject-with-lf": (
        PATHS + '[digest]\nsubject = "{title}\\nX-Evil: 1"\n',
        "digest.subject must not contain line breaks",
    ),
    "title-with-control-character": (
        PATHS + '[site]\ntitle = "News\\u0001"\n',
        "site.title must not contain control characters",
    ),
    "description-with-control-character": (
        PATHS + '[site]\ndescription = "About \\u0010 us"\n',
        "site.description must not contain control characters",
    ),
    "base-url-without-scheme": (
        PATHS + '[site]\nbase_url = "news.example.org"\n',
        "site.base_url must be an absolute http(s) URL, got 'news.example.org/'",
    ),
    "base-url-javascript": (
        PATHS + '[site]\nbase_url = "javascript:alert(1)"\n',
        "site.base_url must be an absolute http(s) URL, got 'javascript:alert(1)/'",
    ),
    "base-url-breaking-out-of-an-attribute": (
        PATHS + '[site]\nbase_url = "https://example.org/\\"><script>x</script>"\n',
        "site.base_url must be an absolute http(s) URL",
    ),
    "empty-timezone": (
        PATHS + '[site]\ntimezone = ""\n',
        "site.timezone '' is not a known timezone",
    ),
    "unknown-timezone": (
        PATHS + '[site]\ntimezone = "Mars/Olympus_Mons"\n',
        "site.timezone 'Mars/Olympus_Mons' is not a known timezone",
    ),
    "timezone-as-a-path": (
        PATHS + '[site]\ntimezone = "../../../etc/passwd"\n',
        "site.timezone '../../../etc/passwd' is not a known timezone",
    ),
    "unknown-key": (PATHS + '[site]\ncolour = "red"\n', "unknown key site.colour"),
    "unknown-section": (PATHS + "[theme]\nname = 1\n", "unknown section [theme]"),
    "wrong-type": (PATHS + '[feed]\nmax_items = "ten"\n', "feed.max_items has a bad value 'ten'"),
    "state-inside-out": (
        '[paths]\nseeds = "seeds"\nout = "public"\nstate = "public/state"\n',
        "paths.state (",
    ),
    "not-toml": (PATHS + "[site\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_config_is_one_line_naming_it_with_exit_2(
    make_site: Callable[[str], Site], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    toml, message = CASES[case]
    site = make_site(toml)
    site.seed("001_good.txt", SEED)
    status = site.main("build", "--now", "2026-03-01")
    lines = capsys.readouterr().err.splitlines()
    assert status == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith("feeds: config error: ")
    assert message in lines[0]
    assert not site.out.exists()


def test_missing_config_file_is_one_line_with_exit_2(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = site.root / "nowhere.toml"
    from feeds.cli import main

    assert main(["--config", str(missing), "build"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"feeds: config error: {missing}: config file not found"
    ]


def test_bad_config_gives_no_traceback_from_the_real_command(
    make_site: Callable[[str], Site],
) -> None:
    site = make_site(PATHS + '[site]\ntitle = "News\\u0001"\n')
    result = site.run("build")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_timezone_left_out_defaults_to_utc(
    make_site: Callable[[str], Site], capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(PATHS + '[site]\ntitle = "News"\n')
    site.seed("001_good.txt", SEED)
    assert site.main("build", "--now", "2026-03-01") == 0
    assert "+00:00" in (site.out / "feed.json").read_text(encoding="utf-8")
