"""The shipped deployment files work as written: crontab.example, the systemd units, the
Containerfile."""

from __future__ import annotations

import configparser
import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Site

CRONTAB = REPO / "crontab.example"
DEPLOY = REPO / "deploy"
SITE_IN_EXAMPLES = "/srv/feeds"
CRON_JOB = re.compile(r"^(\S+\s+){5}(?P<command>.+)$")


def crontab_lines() -> list[str]:
    return CRONTAB.read_text(encoding="utf-8").splitlines()


def crontab_env_and_jobs() -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    jobs: list[str] = []
    for line in crontab_lines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Z_]+)=(.*)", line.strip())
        if assignment:
            env[assignment[1]] = assignment[2]
            continue
        job = CRON_JOB.match(line)
        assert job, f"neither a variable nor a job: {line!r}"
        jobs.append(job["command"])
    return env, jobs


def test_crontab_sets_shell_path_mailto_and_runs_feeds_under_flock() -> None:
    env, jobs = crontab_env_and_jobs()
    assert {"SHELL", "PATH", "MAILTO"} <= set(env)
    assert len(jobs) == 1
    assert re.search(r"\bflock -n \S+ feeds run$", jobs[0])
    assert "CRON_TZ" in CRONTAB.read_text(encoding="utf-8")


def test_every_crontab_setting_and_job_has_a_comment_right_above_it() -> None:
    lines = crontab_lines()
    for number, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert number > 0 and lines[number - 1].startswith("#"), f"unexplained: {line}"


def test_crontab_lock_is_not_the_lock_feeds_takes_itself() -> None:
    _, jobs = crontab_env_and_jobs()
    lock = Path(jobs[0].split("flock -n ", 1)[1].split()[0])
    assert (lock.parent.name, lock.name) != ("state", "lock")


def cron_command(site: Site) -> tuple[str, dict[str, str]]:
    env, jobs = crontab_env_and_jobs()
    command = jobs[0].replace(SITE_IN_EXAMPLES, str(site.root))
    path = f"{Path(sys.executable).parent}:{env['PATH']}"  # where this feeds is installed
    run_env = {**env, "PATH": path, "HOME": str(site.root), "LANG": "C.UTF-8"}
    run_env["FEEDS_CONFIG"] = env["FEEDS_CONFIG"].replace(SITE_IN_EXAMPLES, str(site.root))
    return command, run_env


@pytest.mark.skipif(shutil.which("flock") is None, reason="needs util-linux flock")
def test_the_crontab_line_run_as_cron_would_publishes_quietly(site: Site) -> None:
    site.seed("a.txt", "date 2026-02-18 10:00\ntitle Із крону\n\nТекст.\n")
    command, env = cron_command(site)
    done = subprocess.run(
        [env["SHELL"], "-c", command],
        cwd="/",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert "Із крону" in (site.out / "feed.json").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("flock") is None, reason="needs util-linux flock")
def test_the_crontab_line_skips_a_tick_while_the_previous_one_runs(site: Site) -> None:
    site.seed("a.txt", "date 2026-02-18 10:00\ntitle Із крону\n\nТекст.\n")
    command, env = cron_command(site)
    lock = command.split("flock -n ", 1)[1].split()[0]
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = subprocess.run(
            [env["SHELL"], "-c", command], env=env, capture_output=True, text=True, timeout=120
        )
    assert (done.stdout, done.stderr) == ("", "")  # nothing for cron to mail
    assert not (site.out / "feed.json").exists()


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def test_watch_service_restarts_on_failure_as_a_dedicated_hardened_user() -> None:
    service = unit("feeds-watch.service")["Service"]
    assert service["ExecStart"].split()[1:] == ["watch"]
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("", "root")
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["KillSignal"] == "SIGTERM"
    writable = service["ReadWritePaths"].split()
    assert writable == [f"{SITE_IN_EXAMPLES}/public", f"{SITE_IN_EXAMPLES}/state"]
    assert unit("feeds-watch.service")["Install"]["WantedBy"] == "multi-user.target"


def test_timer_runs_the_oneshot_tick_service_every_few_minutes() -> None:
    timer = unit("feeds.timer")["Timer"]
    assert timer["Unit"] == "feeds.service"
    assert timer["OnCalendar"] == "*:0/5"
    assert timer["Persistent"] == "true"
    service = unit("feeds.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["ExecStart"].split()[1:] == ["run"]
    assert service["User"] == unit("feeds-watch.service")["Service"]["User"]


def test_units_and_site_paths_agree_with_feeds_init(tmp_path: Path) -> None:
    from feeds.cli.main import main

    assert main(["init", str(tmp_path / "site")]) == 0
    config_text = (tmp_path / "site" / "feeds.toml").read_text(encoding="utf-8")
    for folder in ("public", "state"):
        assert re.search(rf'^\w+ = "{folder}"$', config_text, re.M)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    feeds_bin = shutil.which("feeds", path=str(Path(sys.executable).parent))
    assert feeds_bin is not None
    for name in ("feeds-watch.service", "feeds.service", "feeds.timer"):
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/usr/local/bin/feeds", feeds_bin))
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_containerfile_runs_the_daemon_as_a_user_and_copies_what_exists() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert 'CMD ["feeds", "watch"]' in text
    assert "STOPSIGNAL SIGTERM" in text
    user = re.search(r"^USER (\S+)$", text, re.M)
    assert user and user[1] != "root"
    for copy in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for source in copy.split():
            assert (REPO / source).exists(), source


def test_web_service_runs_feeds_web_on_localhost_writing_only_the_state() -> None:
    service = unit("feeds-web.service")["Service"]
    assert service["ExecStart"].split()[1:] == ["web", "--bind", "127.0.0.1", "--port", "8080"]
    assert service["User"] not in ("", "root") and service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"].split() == ["/srv/feeds/state"]
    assert unit("feeds-web.service")["Install"]["WantedBy"] == "multi-user.target"


def test_proxy_snippets_pass_exactly_the_endpoint_paths_to_feeds_web() -> None:
    caddy = (DEPLOY / "Caddyfile.example").read_text(encoding="utf-8")
    nginx = (DEPLOY / "nginx.conf.example").read_text(encoding="utf-8")
    for text in (caddy, nginx):
        assert "127.0.0.1:8080" in text and "/srv/feeds/public" in text
    assert "/newsletter/subscribe /newsletter/confirm/* /newsletter/unsubscribe/*" in caddy
    assert "^/newsletter/(subscribe|confirm/[^/]+|unsubscribe/[^/]+)$" in nginx
    assert "client_max_body_size 8k" in nginx and "max_size 8KB" in caddy
