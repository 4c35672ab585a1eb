"""The machine's locale and timezone never leak into the output (SPEC 3: byte-stable).

RFC 822 dates stay English, times stay in the site timezone. The German locale is
compiled with localedef into a temporary LOCPATH when the system has none installed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import lxml.etree
import pytest

from tests.conftest import Site, tree

NOW = "2026-03-01T12:00"
GERMAN = "de_DE.UTF-8"
RFC_822 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d\d:\d\d:\d\d [+-]\d{4}"
)
NEUTRAL = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
PROBE = (
    "import locale, time; locale.setlocale(locale.LC_ALL, '');"
    " print(time.strftime('%A', time.gmtime(0)))"
)


def locale_env(path: Path) -> dict[str, str] | None:
    """Environment for a German locale compiled into path, or None when that fails."""
    try:
        subprocess.run(
            ["localedef", "-i", "de_DE", "-f", "UTF-8", str(path / GERMAN)],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    env = {"LOCPATH": str(path), "LC_ALL": GERMAN, "LANG": GERMAN}
    return env if weekday_name({**os.environ, **env}) == "Donnerstag" else None


def installed_non_c_locale() -> dict[str, str] | None:
    """Any installed locale other than C/POSIX, as an environment."""
    try:
        names = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    for name in names.stdout.split():
        if not name.lower().startswith(("c", "posix")):
            return {"LC_ALL": name, "LANG": name}
    return None


def weekday_name(env: dict[str, str]) -> str:
    """The weekday of 1 January 1970 as a process with env names it."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    return result.stdout.strip()


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A non-C locale (German if it can be made) and a timezone far from the site's."""
    env = locale_env(tmp_path_factory.mktemp("locales")) or installed_non_c_locale()
    if env is None:
        pytest.skip("no locale other than C/POSIX is available or can be compiled here")
    yield {**env, "TZ": "America/New_York"}


def build(site: Site, out: str, env: dict[str, str]) -> Path:
    """feeds build into out under env; the publish folder."""
    target = site.root / out
    state = site.root / f"{out}-state"
    toml = site.config_path.read_text(encoding="utf-8")
    toml = toml.replace('out = "public"', f'out = "{out}"')
    toml = toml.replace('state = "state"', f'state = "{state.name}"')
    config = site.root / f"{out}.toml"
    config.write_text(toml, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "--config", str(config), "build", "--now", NOW],
        cwd=site.root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return target


@pytest.fixture
def seeded(site: Site) -> Site:
    """Seeds whose dates and times would show any locale or timezone leaking in."""
    site.seed("001.txt", "date 2026-02-20 09:30\n\nРанкова стаття про зустріч у місті.\n")
    site.seed("002.txt", "date 2026-02-21T23:45:00+00:00\n\nНічна стаття, 1 234,5 гривні.\n")
    site.seed("003.txt", "date February 22, 2026\ntags: Економіка\n\nСтаття без часу.\n")
    return site


def test_the_foreign_locale_is_really_in_effect(foreign: dict[str, str]) -> None:
    # Guards the test below: a silently ignored locale would prove nothing.
    assert weekday_name({**os.environ, **foreign}) not in ("", "Thursday")


def test_a_build_under_a_foreign_locale_and_timezone_is_byte_identical(
    seeded: Site, foreign: dict[str, str]
) -> None:
    neutral = build(seeded, "neutral", NEUTRAL)
    other = build(seeded, "foreign", foreign)
    assert tree(other) == tree(neutral)


def test_rss_dates_stay_english_rfc_822_in_the_site_timezone(
    seeded: Site, foreign: dict[str, str]
) -> None:
    out = build(seeded, "foreign", foreign)
    root = lxml.etree.fromstring((out / "rss.xml").read_bytes())
    dates = [item.findtext("pubDate") or "" for item in root.iter("item")]
    assert all(RFC_822.fullmatch(text) for text in dates), dates
    assert "Fri, 20 Feb 2026 09:30:00 +0200" in dates  # Kyiv time, not New York's


def test_atom_times_are_in_the_site_timezone_whatever_tz_says(
    seeded: Site, foreign: dict[str, str]
) -> None:
    out = build(seeded, "foreign", foreign)
    text = (out / "atom.xml").read_text(encoding="utf-8")
    assert "2026-02-20T09:30:00+02:00" in text
    assert "2026-02-22T01:45:00+02:00" in text  # 23:45 UTC is the next day in Kyiv
