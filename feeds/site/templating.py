"""The Jinja environment: package templates, overridable from the config, autoescaped."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.config import Config
from feeds.read.dates import site_time
from feeds.site.groups import group_slug

if TYPE_CHECKING:
    import jinja2


def _package_templates() -> Path:
    """The built-in templates: installed as package data at feeds/templates, and kept at the
    repository's top level (templates/) in a source checkout or an editable install."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "templates"
    return installed if installed.is_dir() else package.parent / "templates"


PACKAGE_TEMPLATES = _package_templates()
RFC822_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def template_dirs(config: Config) -> list[Path]:
    """Search path: the configured templates folder first, then the package's own."""
    dirs = [PACKAGE_TEMPLATES]
    if config.paths.templates is not None:
        dirs.insert(0, config.paths.templates)
    return dirs


def make_env(config: Config) -> jinja2.Environment:
    """An autoescaping environment with the date filters in the site's language."""
    import jinja2
    from babel.dates import format_date, format_time

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(config)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(config),
    )
    tz = config.site.tz
    locale = babel_locale(config.site.language)

    @cache
    def _date(day: date, form: str) -> str:
        return str(format_date(day, format=form, locale=locale))

    @cache
    def _time(hour: int, minute: int) -> str:
        return str(format_time(time(hour, minute), format="short", locale=locale))

    def date_long(value: datetime) -> str:
        local = site_time(value, tz)
        text = _date(local.date(), "long")
        if local.hour or local.minute:
            text += ", " + _time(local.hour, local.minute)
        return text

    def date_short(value: datetime) -> str:
        return _date(site_time(value, tz).date(), "medium")

    def iso(value: datetime) -> str:
        return site_time(value, tz).isoformat()

    def month_name(value: datetime) -> str:
        local = site_time(value, tz)
        return format_date(local.date(), format="LLLL y", locale=locale).capitalize()

    env.filters["month_name"] = month_name
    env.filters["tag_page"] = lambda name: f"tags/{group_slug(name)}/"
    env.tests["paged_tag"] = lambda name: bool(group_slug(name))  # '!!!' has no page
    words = labels(config)
    env.globals["t"] = words
    env.globals["ft"] = words  # the sign-up form's words (signup.html, shared with the digest)
    env.globals["web"] = config.web
    env.globals["description"] = site_description(config)
    env.filters["articles"] = lambda n: plural(config, words, "articles", n)
    env.globals["xsl_months"] = xsl_months(locale)
    env.filters["date_long"] = date_long
    env.filters["date_short"] = date_short
    env.filters["iso"] = iso
    env.filters["preview_mark"] = preview_marker(config)
    return env


# Inline style: the mark must show with any stylesheet, a site's own included.
MARK_STYLE = "background:#b00020;color:#fff;padding:0 .35em;border-radius:3px;font-size:.75em"


def preview_marker(config: Config) -> Callable[[object], str]:
    """The `preview_mark` filter: a visible "draft" or "scheduled" label for an article (or a
    list entry) in a preview build with drafts; '' otherwise, so published pages are
    byte-for-byte what they were before the filter existed."""
    from markupsafe import Markup

    preview = config.preview
    if preview is None or not preview.drafts:
        return lambda item: ""
    words = labels(config)
    now = preview.now

    def mark(item: object) -> str:
        meta = getattr(item, "meta", item)  # an Entry, or an Article
        if getattr(meta, "draft", False):
            label = words.get("preview_draft", "draft")
        elif getattr(item, "date", now) > now:
            label = words.get("preview_scheduled", "scheduled")
        else:
            return ""
        return Markup(' <span class="preview-mark" style="{}">{}</span>').format(MARK_STYLE, label)

    return mark


def labels(config: Config) -> dict[str, str]:
    """Interface words in the site's language (English where it has none of its own)."""
    table: dict[str, dict[str, str]] = {}
    for folder in reversed(template_dirs(config)):
        path = folder / "labels.toml"
        if path.is_file():
            for language, words in tomllib.loads(path.read_text(encoding="utf-8")).items():
                table.setdefault(language, {}).update(words)
    language = config.site.language.split("-")[0].lower()
    return {**table.get("en", {}), **table.get(language, {})}


def site_description(config: Config) -> str:
    """site.description, else the default one in the site's language."""
    return config.site.description or labels(config).get("description", "")


def plural(config: Config, words: dict[str, str], key: str, count: int) -> str:
    """'{n} articles' in the site's language, in the plural form CLDR gives for count."""
    from babel import Locale

    form = Locale.parse(babel_locale(config.site.language)).plural_form(count)
    pattern = words.get(f"{key}_{form}") or words.get(f"{key}_other", "{n}")
    return pattern.replace("{n}", str(count))


def xsl_months(locale: str) -> tuple[bool, list[tuple[str, str]]]:
    """For feed.xsl, which shows feed dates in the page's language but cannot call Babel:
    whether the month comes first in a long date, and (RFC 822 abbreviation, the month's
    name as a long date writes it) for each month."""
    from babel import Locale

    place = Locale.parse(locale)
    names = place.months["format"]["wide"]
    english = RFC822_MONTHS
    month_first = place.date_formats["long"].pattern.lstrip("'").startswith(("M", "L"))
    return month_first, [(english[n - 1], str(names[n])) for n in range(1, 13)]


def _bytecode_cache(config: Config) -> jinja2.BytecodeCache | None:
    """Compiled templates kept in the state folder, so a small rebuild skips compiling."""
    import jinja2

    folder = config.paths.state / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a cache, not a requirement
    return jinja2.FileSystemBytecodeCache(str(folder))


def babel_locale(language: str) -> str:
    """A Babel locale name for an HTML/RSS language tag (uk, en-US...)."""
    return language.replace("-", "_")


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def templates_fingerprint(config: Config) -> str:
    """A hash of every template that could be used, so a template edit re-renders pages."""
    digest = hashlib.sha256()
    for folder in template_dirs(config):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                digest.update(str(path.relative_to(folder)).encode())
                digest.update(_file_digest(path, st.st_size, st.st_mtime_ns).encode())
    return digest.hexdigest()
