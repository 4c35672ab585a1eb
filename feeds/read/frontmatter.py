"""The metadata at the top of a `.md` file: YAML (`---`), TOML (`+++`) or header lines.

Hugo, Jekyll and Pelican write the same facts under different names; they all end up in
one Header with our keys (title date updated draft tags summary slug author image lang).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from feeds.errors import SeedError

# Our key <- the names the tools use for it (the first one present wins; tags merge).
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "date": ("date",),
    "updated": ("lastmod", "updated", "modified"),
    "summary": ("summary", "description", "excerpt"),
    "slug": ("slug",),
    "author": ("author", "authors"),
    "image": ("image", "cover", "images", "featured_image"),
    "lang": ("lang",),
}
TAG_KEYS = ("tags", "categories", "category", "keywords")  # Pelican's Category: a tag
DRAFT_KEYS = ("draft", "published", "status")
KNOWN = frozenset({name for names in ALIASES.values() for name in names}) | {
    *TAG_KEYS,
    *DRAFT_KEYS,
}
SPEC_KEYS = ("date", "title", "author", "tags", "summary", "image", "lang", "slug", "draft")

_COLON_LINE = re.compile(r"\s*([A-Za-z][\w-]*)\s*:\s*(.*)$")
_SPACE_LINE = re.compile(r"\s*(" + "|".join(SPEC_KEYS) + r")(?:\s+(.*))?$")
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column \d+\)$")
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s+([+-]\d{2}:?\d{2}|Z)$")
# See _simple_yaml. Excluded from the quoted text: `"`, `\\`, C0 and C1 controls (NEL is a
# YAML line break), surrogates, U+2028/U+2029 (line breaks), the BOM and non-characters.
_SIMPLE_YAML_LINE = re.compile(
    r'([a-z_]+): +(?:"([^"\\\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufeff\ufffe\uffff]*)"'
    r"|([0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?))"
)
_TRUE = ("true", "yes", "on", "1", "")
_FALSE = ("false", "no", "off", "0")


def _date_free(base: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """Safe YAML (no object construction) that keeps dates as text: our date rules read
    them, with the site timezone for a date written without an offset."""

    class Loader(base):  # type: ignore[valid-type,misc]
        """base without the timestamp resolver."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in found if tag != "tag:yaml.org,2002:timestamp"]
        for first, found in base.yaml_implicit_resolvers.items()
    }
    return Loader


# libyaml's parser when PyYAML has it (its wheels do): the pure-Python one takes most of the
# time of reading a `.md` seed, enough to slow a cold build by a third.
_Loader = _date_free(
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # type: ignore[arg-type]
)


@dataclass(frozen=True)
class Header:
    """A `.md` file's metadata under our key names, and the Markdown after it."""

    values: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    draft: bool = False
    unknown: tuple[str, ...] = ()  # keys no tool we know of gives a meaning we use
    body: str = ""


def read_header(source: str, text: str) -> Header:
    """Split a `.md` file's text into its Header and Markdown body."""
    lines = text.split("\n")
    first = next((n for n, line in enumerate(lines) if line.strip()), len(lines))
    opening = lines[first].rstrip() if first < len(lines) else ""
    if opening in ("---", "+++"):
        closing = ("---", "...") if opening == "---" else ("+++",)
        end = next((n for n in range(first + 1, len(lines)) if lines[n].rstrip() in closing), None)
        if end is None:
            raise SeedError(source, f"front matter line {first + 1}: no closing {opening} line")
        raw = "\n".join(lines[first + 1 : end])
        data = _yaml(source, raw, first + 2) if opening == "---" else _toml(source, raw, first + 2)
        return _header(source, data, "\n".join(lines[end + 1 :]), split_words=opening == "---")
    return _line_header(source, lines, first)


def _yaml(source: str, raw: str, offset: int) -> Mapping[str, Any]:
    if (simple := _simple_yaml(raw)) is not None:
        return simple
    try:
        data = yaml.load(raw, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # libyaml marks an unclosed `[` at the end of the input: the last line of the block.
        line = offset + min(mark.line if mark is not None else 0, raw.count("\n"))
        reason = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise SeedError(source, f"front matter line {line}: {reason}") from None
    return _mapping(source, data, offset)


def _simple_yaml(raw: str) -> dict[str, str] | None:
    """What YAML reads from a block of only `key: "text"` and `key: 2026-02-20T09:30` lines
    with keys we know, or None for any other block (YAML reads that).

    Most front matter is such, and the YAML loader took half of a header's time. These
    lines mean the same in YAML: a known key (none is a YAML boolean or null) to a
    double-quoted string with no escapes and no character YAML refuses or folds, or to a
    date that, without the timestamp resolver, YAML keeps as text. A repeated key: the
    last wins, as in YAML. tests/test_frontmatter_simple.py compares the two on generated
    blocks.
    """
    data: dict[str, str] = {}
    for line in raw.split("\n"):
        match = _SIMPLE_YAML_LINE.fullmatch(line)
        if match is None or match.group(1) not in KNOWN:
            return None
        quoted, plain = match.group(2, 3)
        data[match.group(1)] = quoted if quoted is not None else plain
    return data


def _toml(source: str, raw: str, offset: int) -> Mapping[str, Any]:
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_WHERE.search(message)
        line = offset + int(where.group(1)) - 1 if where else offset
        reason = _TOML_WHERE.sub("", message)
        raise SeedError(source, f"front matter line {line}: {reason}") from None
    return data


def _mapping(source: str, data: object, offset: int) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SeedError(source, f"front matter line {offset}: expected `key: value` lines")
    return data


def _line_header(source: str, lines: list[str], first: int) -> Header:
    """SPEC 2 header lines (`title: …`, `date 2026-02-20 lead…`) or Pelican's (`Title: …`).

    They run to the first blank line or the first line that is none of them; a header
    that starts with a key we know may hold keys we don't (Pelican's `Series:`).
    """
    data: dict[str, str] = {}
    lead = ""
    index = first
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
            break
        colon = _COLON_LINE.match(line)
        space = _SPACE_LINE.match(line)
        if colon and (data or colon.group(1).lower() in KNOWN):
            key, value = colon.group(1).lower(), colon.group(2).strip()
        elif space:
            key, value = space.group(1), (space.group(2) or "").strip()
        elif data and line[:1].isspace():  # an indented line continues the value before
            data[key] = f"{data[key]} {line.strip()}"
            index += 1
            continue
        else:
            break
        data[key] = value
        index += 1
        if key == "date" and not colon:
            value, lead = split_date_lead(value)
            data[key] = value
            if lead:
                break
    body = "\n".join(([lead, ""] if lead else []) + lines[index:])
    return _header(source, data, body, split_words=False)


def split_date_lead(value: str) -> tuple[str, str]:
    """`2026-02-20 Lead text…` -> ('2026-02-20', 'Lead text…'), as SPEC 2 reads it."""
    from datetime import UTC

    from feeds.read.dates import DateError, parse_date_prefix

    try:
        _, rest = parse_date_prefix(value, UTC)
    except DateError:
        return value, ""
    return (value[: len(value) - len(rest)].strip(), rest) if rest else (value, "")


def _header(source: str, data: Mapping[str, Any], body: str, split_words: bool) -> Header:
    lowered = {str(key).lower(): value for key, value in data.items()}
    values: dict[str, str] = {}
    for ours, names in ALIASES.items():
        for name in names:
            # An absent key reads as '' anyway: skipping it saves most of the calls.
            if name in lowered and (text := _text(lowered[name], ours)):
                values[ours] = text
                break
    if "date" in values:
        values["date"] = normalise_date(values["date"])
    if "updated" in values:
        values["updated"] = normalise_date(values["updated"])
    tags: list[str] = []
    for name in TAG_KEYS:
        if name in lowered:
            tags.extend(_words(lowered[name], split_words))
    unknown = tuple(sorted(key for key in lowered if key not in KNOWN))
    return Header(values, tuple(tags), _draft(source, lowered), unknown, body)


def _text(value: object, ours: str) -> str:
    """A scalar as text; the first of a list (`images`), `name`/`image` of a mapping."""
    if isinstance(value, list):
        if ours == "author":
            return ", ".join(filter(None, (_text(item, ours) for item in value)))
        return _text(value[0], ours) if value else ""
    if isinstance(value, dict):
        for key in ("image", "src", "url", "name"):
            if key in value:
                return _text(value[key], ours)
        return ""
    if isinstance(value, date):  # TOML dates and datetimes
        return value.isoformat()
    if value is None or isinstance(value, bool):
        return ""
    return " ".join(str(value).split())


def _words(value: object, split_words: bool) -> list[str]:
    """Tags from a list, or from a comma-separated string (Jekyll's YAML: space-separated)."""
    if isinstance(value, list):
        return [text for item in value if (text := _text(item, "tags"))]
    text = _text(value, "tags")
    if "," in text or not split_words:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text.split()


def _draft(source: str, data: Mapping[str, Any]) -> bool:
    """draft: true, published: false (Jekyll) or Status: draft / hidden (Pelican)."""
    status = data.get("status")
    if isinstance(status, str) and status.strip().lower() in ("draft", "hidden"):
        return True
    draft = _flag(source, "draft", data.get("draft"))
    published = _flag(source, "published", data.get("published"))
    return draft is True or published is False


def _flag(source: str, key: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise SeedError(source, f"{key} must be true or false, got {value!r}")


def normalise_date(text: str) -> str:
    """`2026-02-20 09:30:00 +0200` (Hugo, Jekyll) -> `2026-02-20 09:30:00+0200`."""
    return _SPACED_OFFSET.sub(r"\1\2", text.strip())
