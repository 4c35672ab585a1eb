"""feeds subscribers add | remove | list | import: validated, merged, kept in the state DB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.digest_site import state

pytestmark = pytest.mark.usefixtures("both_backends")  # state on SQLite and PostgreSQL


def listed(site: Site, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert site.main("subscribers", "list") == 0
    return capsys.readouterr().out.splitlines()


def token_of(site: Site, email: str) -> str:
    conn = state(site)
    try:
        (token,) = conn.execute(
            "SELECT token FROM subscribers WHERE email = ?", (email,)
        ).fetchone()
    finally:
        conn.close()
    return str(token)


def test_added_subscriber_is_listed(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.main("subscribers", "add", "ann@example.org", "--name", "Ann") == 0
    assert listed(site, capsys) == ["ann@example.org\tAnn"]


def test_add_is_quiet_on_success(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.main("subscribers", "add", "ann@example.org")
    assert capsys.readouterr() == ("", "")


def test_same_address_in_another_case_is_merged(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.main("subscribers", "add", "Ann@Example.org")
    assert site.main("subscribers", "add", "ann@EXAMPLE.ORG") == 0
    assert site.main("subscribers", "add", "ANN@example.org") == 0
    assert listed(site, capsys) == ["Ann@example.org"]


def test_bad_address_is_one_clear_line_and_exit_2(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert site.main("subscribers", "add", "not-an-address") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a valid e-mail address: 'not-an-address'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("bad", ["ann@", "ann@@example.org", "ann@example", "a b@example.org"])
def test_malformed_addresses_are_refused(site: Site, bad: str) -> None:
    assert site.main("subscribers", "add", bad) == 2


def test_each_subscriber_gets_a_distinct_random_token(site: Site) -> None:
    site.main("subscribers", "add", "ann@example.org")
    site.main("subscribers", "add", "bob@example.org")
    tokens = {token_of(site, "ann@example.org"), token_of(site, "bob@example.org")}
    assert len(tokens) == 2 and all(len(t) >= 20 for t in tokens)


def test_remove_by_address(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.main("subscribers", "add", "ann@example.org")
    site.main("subscribers", "add", "bob@example.org")
    assert site.main("subscribers", "remove", "ANN@example.org") == 0
    assert listed(site, capsys) == ["bob@example.org"]


def test_remove_by_token(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.main("subscribers", "add", "ann@example.org")
    assert site.main("subscribers", "remove", "--token", token_of(site, "ann@example.org")) == 0
    assert listed(site, capsys) == []


def test_removing_twice_is_fine(site: Site) -> None:
    site.main("subscribers", "add", "ann@example.org")
    token = token_of(site, "ann@example.org")
    site.main("subscribers", "remove", "--token", token)
    assert site.main("subscribers", "remove", "--token", token) == 0


def test_unknown_token_is_an_error(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.main("subscribers", "remove", "--token", "nope") == 2
    assert "no subscriber has that token" in capsys.readouterr().err


def test_unknown_address_is_an_error(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.main("subscribers", "remove", "zed@example.org") == 2
    assert "zed@example.org is not subscribed" in capsys.readouterr().err


def test_adding_a_removed_address_subscribes_it_again_with_a_new_token(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    site.main("subscribers", "add", "ann@example.org")
    old = token_of(site, "ann@example.org")
    site.main("subscribers", "remove", "ann@example.org")
    site.main("subscribers", "add", "ann@example.org")
    assert listed(site, capsys) == ["ann@example.org"]
    assert token_of(site, "ann@example.org") != old


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_reads_email_and_name_columns(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, "name,Email\nAnn,ann@example.org\n,bob@example.org\n")
    assert site.main("subscribers", "import", str(path)) == 0
    assert listed(site, capsys) == ["ann@example.org\tAnn", "bob@example.org"]


def test_import_merges_duplicates_case_insensitively(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.main("subscribers", "add", "ann@example.org")
    path = write_csv(tmp_path, "email\nANN@example.org\nbob@example.org\nBob@Example.org\n")
    assert site.main("subscribers", "import", str(path)) == 0
    assert listed(site, capsys) == ["ann@example.org", "bob@example.org"]


def test_import_reports_bad_rows_by_line_and_keeps_the_good_ones(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path, "email\nann@example.org\nbroken\nbob@example.org\n")
    assert site.main("subscribers", "import", str(path)) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"feeds: {path}:3: not a valid e-mail address")
    assert listed(site, capsys) == ["ann@example.org", "bob@example.org"]


def test_import_never_resubscribes_someone_who_left(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site.main("subscribers", "add", "ann@example.org")
    site.main("subscribers", "remove", "ann@example.org")
    assert (
        site.main("subscribers", "import", str(write_csv(tmp_path, "email\nann@example.org\n")))
        == 0
    )
    assert listed(site, capsys) == []


def test_import_without_an_email_column_is_refused(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        site.main("subscribers", "import", str(write_csv(tmp_path, "mail\nann@example.org\n"))) == 2
    )
    assert "no 'email' column" in capsys.readouterr().err


def test_import_of_a_missing_file_is_one_line(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert site.main("subscribers", "import", str(tmp_path / "nope.csv")) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_import_accepts_a_byte_order_mark(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffemail\r\nann@example.org\r\n".encode())
    assert site.main("subscribers", "import", str(path)) == 0
    assert listed(site, capsys) == ["ann@example.org"]


def test_subscribers_live_in_the_wal_state_database(site: Site, both_backends: str) -> None:
    site.main("subscribers", "add", "ann@example.org")
    conn = state(site)
    try:
        if both_backends == "postgresql":  # all of it on the server, nothing in the folder
            assert conn.execute("SELECT count(*) FROM subscribers").fetchone()[0] == 1
            assert not (site.state / "feeds.sqlite3").exists()
        else:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_tokens_never_start_with_a_dash_that_a_command_line_takes_for_an_option() -> None:
    from feeds.mail.subscribers import new_token

    assert not any(new_token().startswith("-") for _ in range(5000))


def test_add_accepts_the_name_and_address_form(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert site.main("subscribers", "add", "Олена <olena@example.com>") == 0
    assert site.main("subscribers", "add", '"Smith, Dan" <dan@example.com>') == 0
    assert listed(site, capsys) == ["olena@example.com\tОлена", "dan@example.com\tSmith, Dan"]


def test_the_name_option_wins_over_the_name_in_angle_form(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    assert site.main("subscribers", "add", "Олена <olena@example.com>", "--name", "Olena P.") == 0
    assert listed(site, capsys) == ["olena@example.com\tOlena P."]


def test_import_accepts_the_name_and_address_form_in_the_email_column(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(
        tmp_path, 'email,name\n"Олена <olena@example.com>",\n"Ann <ann@example.org>",Annie\n'
    )
    assert site.main("subscribers", "import", str(path)) == 0
    assert listed(site, capsys) == ["olena@example.com\tОлена", "ann@example.org\tAnnie"]


def test_import_with_an_unterminated_quote_names_its_line_and_imports_nothing(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(
        tmp_path, 'email,name\nann@example.org,Ann\nbob@example.org,"Bob\ncat@example.org,Cat\n'
    )
    assert site.main("subscribers", "import", str(path)) == 2
    assert capsys.readouterr().err == f"feeds: {path} line 3: unterminated quote\n"
    assert listed(site, capsys) == []


def test_list_piped_into_head_exits_quietly(site: Site, tmp_path: Path) -> None:
    rows = "".join(f"r{n}@example.org,Reader {n} {'x' * 60}\n" for n in range(2000))
    assert site.main("subscribers", "import", str(write_csv(tmp_path, "email,name\n" + rows))) == 0
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDS_CONFIG", "FEEDS_NOW")}
    lister = subprocess.Popen(
        [sys.executable, "-m", "feeds", "--config", str(site.config_path), "subscribers", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert lister.stdout is not None and lister.stderr is not None
    head = subprocess.run(["head", "-1"], stdin=lister.stdout, capture_output=True, timeout=60)
    lister.stdout.close()  # only head reads the pipe: when it exits, the writer gets EPIPE
    err = lister.stderr.read()
    assert lister.wait(timeout=60) == 0
    assert head.stdout.decode().startswith("r0@example.org\tReader 0 ")
    assert err == b""
