"""Hostile or broken feeds.toml: one clear line naming the problem, exit 2, nothing published."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Site

PATHS = '[paths]\nseeds = "seeds"\nout = "public"\nstate = "state"\n'
TIMEZONE = "site.timezone must be a known timezone such as UTC or Europe/Kyiv"
SMTP_TIMEOUT = "smtp.timeout must be a number of seconds between 1 and 600"
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
        "site.base_url must be an absolute http(s) URL with a host, no user info, query or"
        " fragment, got 'news.example.org'",
    ),
    "base-url-javascript": (
        PATHS + '[site]\nbase_url = "javascript:alert(1)"\n',
        "site.base_url must be an absolute http(s) URL",
    ),
    "base-url-breaking-out-of-an-attribute": (
        PATHS + '[site]\nbase_url = "https://example.org/\\"><script>x</script>"\n',
        "site.base_url must be an absolute http(s) URL",
    ),
    "empty-timezone": (
        PATHS + '[site]\ntimezone = ""\n',
        TIMEZONE + ", got ''",
    ),
    "unknown-timezone": (
        PATHS + '[site]\ntimezone = "Mars/Olympus_Mons"\n',
        TIMEZONE + ", got 'Mars/Olympus_Mons'",
    ),
    "timezone-as-a-path": (
        PATHS + '[site]\ntimezone = "../../../etc/passwd"\n',
        TIMEZONE + ", got '../../../etc/passwd'",
    ),
    "unknown-key": (PATHS + '[site]\ncolour = "red"\n', "unknown key site.colour"),
    "unknown-section": (PATHS + "[theme]\nname = 1\n", "unknown section [theme]"),
    "wrong-type": (
        PATHS + '[feed]\nmax_items = "ten"\n',
        "feed.max_items must be a whole number between 1 and 10000, got 'ten'",
    ),
    "state-inside-out": (
        '[paths]\nseeds = "seeds"\nout = "public"\nstate = "public/state"\n',
        "paths.state (",
    ),
    "not-toml": (PATHS + "[site\n", "not valid TOML"),
    # Values that used to crash (traceback, exit 1) or were accepted and broke every send.
    "smtp-timeout-zero": (PATHS + "[smtp]\ntimeout = 0\n", SMTP_TIMEOUT + ", got 0"),
    "smtp-timeout-negative": (PATHS + "[smtp]\ntimeout = -5\n", SMTP_TIMEOUT + ", got -5"),
    "smtp-timeout-nan": (PATHS + "[smtp]\ntimeout = nan\n", SMTP_TIMEOUT + ", got nan"),
    "smtp-timeout-inf": (PATHS + "[smtp]\ntimeout = inf\n", SMTP_TIMEOUT + ", got inf"),
    "max-bytes-past-2-63": (
        PATHS + "[seeds]\nmax_bytes = 99999999999999999999\n",
        "seeds.max_bytes must be a number of bytes between 1 and 1073741824",
    ),
    "watch-interval-nan": (PATHS + "[watch]\ninterval = nan\n", "watch.interval must be a number"),
    "watch-interval-inf": (PATHS + "[watch]\ninterval = inf\n", "watch.interval must be a number"),
    "unsubscribe-url-with-crlf": (
        PATHS + '[digest]\nunsubscribe_url = "https://x.org/u/{token}\\r\\nBcc: a@b.org"\n',
        "digest.unsubscribe_url must not contain line breaks",
    ),
    "unsubscribe-url-javascript": (
        PATHS + '[digest]\nunsubscribe_url = "javascript:alert(1)//{token}"\n',
        "digest.unsubscribe_url must be an https or http URL containing {token}",
    ),
    "unsubscribe-url-data": (
        PATHS + '[digest]\nunsubscribe_url = "data:text/html,{token}"\n',
        "digest.unsubscribe_url must be an https or http URL containing {token}",
    ),
    "from-with-an-encoded-word": (
        PATHS + '[digest]\nfrom = "=?utf-8?q?Bank?= <news@example.org>"\n',
        "digest.from must be one e-mail address",
    ),
    "from-that-is-two-addresses": (
        PATHS + '[digest]\nfrom = "a@example.org, b@example.org"\n',
        "digest.from must be one e-mail address",
    ),
    "base-url-with-user-info": (
        PATHS + '[site]\nbase_url = "https://user:pw@example.org/"\n',
        "site.base_url must be an absolute http(s) URL with a host, no user info",
    ),
    "base-url-with-a-fragment": (
        PATHS + '[site]\nbase_url = "https://example.org/#top"\n',
        "site.base_url must be an absolute http(s) URL with a host, no user info",
    ),
    "base-url-with-a-bad-port": (
        PATHS + '[site]\nbase_url = "https://example.org:99999/"\n',
        "site.base_url must be an absolute http(s) URL with a host, no user info",
    ),
    "port-as-a-float": (PATHS + "[smtp]\nport = 25.0\n", "smtp.port must be a port number"),
    "bool-for-a-number": (PATHS + "[feed]\nmax_items = true\n", "got true"),
    "lock-max-age-negative": (PATHS + "[lock]\nmax_age = -1\n", "lock.max_age must be a number"),
    "max-tags-negative": (PATHS + "[seeds]\nmax_tags = -1\n", "seeds.max_tags must be"),
    "password-env-not-a-name": (
        PATHS + '[smtp]\npassword_env = "my secret"\n',
        "smtp.password_env must be the name of an environment variable",
    ),
    # The publish folder is published whole: it must not hold what is private.
    "out-is-the-site-folder": (
        '[paths]\nseeds = "seeds"\nout = "."\nstate = "state"\n',
        "paths.state (",
    ),
    "out-contains-the-seeds": (
        '[paths]\nseeds = "site/seeds"\nout = "site"\nstate = "state"\n',
        "must not contain the seeds folder",
    ),
    "out-contains-the-config-file": (
        '[paths]\nseeds = "/tmp/feeds-no-such-seeds"\nout = "."\nstate = "/tmp/feeds-state-x"\n',
        "must not contain the config file",
    ),
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
    from feeds.cli.main import main

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


@pytest.mark.parametrize("where", ["site-folder", "seeds-parent", "link-to-site"])
def test_out_on_the_command_line_must_not_hold_the_seeds_state_or_config(
    site: Site, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    site.seed("001_good.txt", SEED)
    if where == "site-folder":
        out = site.root
    elif where == "seeds-parent":
        out = site.seeds.parent
    else:
        out = site.root.parent / "published"
        out.symlink_to(site.root, target_is_directory=True)  # the real path is what counts
    status = site.main("build", "--out", str(out), "--now", "2026-03-01")
    lines = capsys.readouterr().err.splitlines()
    assert status == 2
    assert len(lines) == 1 and "paths." in lines[0], lines
    assert not (site.root / "articles").exists()
