"""Every feeds.toml key has a type and a range: any value gives a Config or one line naming it."""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.config import _SECTIONS, Config, load_config
from feeds.errors import ConfigError
from tests.conftest import Site
from tests.hypothesis_profiles import PROPERTY

KEYS = [
    (section, f.name.rstrip("_"))
    for section, cls in _SECTIONS.items()
    for f in dataclasses.fields(cls)
]
NASTY_TEXT = [
    "",
    " ",
    "\r\n",
    "a\nb",
    "x\x00y",
    "\x01",
    "=?utf-8?q?Bank?= <a@example.org>",
    "=?utf-8?b?QmFuaw==?=",
    "https://user:pw@example.org/",
    "javascript:alert(1)",
    "data:text/html,{token}",
    "https://example.org/{token}#x",
    "https://example.org:99999/",
    "http://[::1/",
    "../../etc/passwd",
    "Mars/Olympus_Mons",
    "a" * 5000,
    "17:60",
    "news@localhost",
    "a@example.org, b@example.org",
]


def toml_value(value: Any) -> str:
    """A value written as TOML (no writer library is a dependency; this covers what we draw)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_string(text: str) -> str:
    """JSON's escapes are TOML's, except that TOML also wants DEL escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.sampled_from([0, -1, 1, 65535, 65536, 999, 1000, 2999, 3000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=2)
    ),
    max_leaves=5,
)


def load_one(section: str, key: str, value: Any) -> Config:
    """load_config of a file that sets just this key (paths kept apart from the file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feeds.toml"
        path.write_text(f"[{section}]\n{key} = {toml_value(value)}\n", encoding="utf-8")
        return load_config(path)


@PROPERTY
@given(key=st.sampled_from(KEYS), value=values)
def test_any_value_for_any_key_loads_or_is_one_line_naming_the_key(
    key: tuple[str, str], value: Any
) -> None:
    section, name = key
    try:
        config = load_one(section, name, value)
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message
        # A folder clash names both folders' keys; any other fault names the key itself.
        assert f"{section}.{name}" in message or (section == "paths" and "paths." in message)
        return
    assert isinstance(config, Config)


@pytest.mark.parametrize("key", KEYS, ids=[".".join(k) for k in KEYS])
def test_every_key_declares_its_rule(key: tuple[str, str]) -> None:
    section, name = key
    fields = {f.name.rstrip("_"): f for f in dataclasses.fields(_SECTIONS[section])}
    assert "rule" in fields[name].metadata


@pytest.mark.parametrize("key", KEYS, ids=[".".join(k) for k in KEYS])
def test_every_key_refuses_a_table_with_one_line(key: tuple[str, str]) -> None:
    section, name = key
    with pytest.raises(ConfigError) as caught:
        load_one(section, name, {"a": 1})
    assert f"{section}.{name} must be " in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (("smtp", "timeout"), 0.5),
        (("watch", "interval"), math.inf),
        (("seeds", "max_bytes"), 2**64),
        (("digest", "unsubscribe_url"), "https://x.org/{token}\r\nBcc: a@x.org"),
    ],
)
def test_bad_values_from_the_issue_exit_2_with_one_line_and_no_traceback(
    make_site: Callable[[str], Site], key: tuple[str, str], value: Any
) -> None:
    site = make_site(f'[paths]\nout = "public"\n\n[{key[0]}]\n{key[1]} = {toml_value(value)}\n')
    done = site.run("build", "--now", "2026-03-01")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert f"{key[0]}.{key[1]}" in done.stderr
    assert not site.out.exists()
