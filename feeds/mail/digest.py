"""The weekly digest, pure: which articles a slot holds, and its HTML and text parts.

No I/O beyond reading templates: the caller passes the published articles and the previous
digest, and stores what comes back.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from babel import Locale
from babel.dates import format_date, format_skeleton, format_time, parse_pattern

from feeds.config import Config
from feeds.mail.slots import Slot
from feeds.mail.transfer import encoded_size
from feeds.model import Entry
from feeds.site.links import absolute
from feeds.site.templating import babel_locale, labels, template_dirs

# Gmail clips a message past ~102 KB; stay clear of it with room for the headers and the
# per-subscriber unsubscribe link. Counted on the bytes the HTML and text parts take on
# the wire (quoted-printable or base64: feeds.mail.transfer), not on their UTF-8.
MAIL_HTML_LIMIT = 98_000
SUMMARY_CHARS = 280
LABELS_FILE = "digest_labels.toml"


@dataclass(frozen=True)
class Window:
    """What a slot's digest covers: dated in (start, slot], or late after late_after."""

    slot: Slot
    start: datetime
    late_after: datetime | None


@dataclass(frozen=True)
class Candidate:
    """A published article in no digest yet: its date and when a build first published it."""

    article_id: str
    date: datetime
    first_seen: datetime


def belongs(window: Window, candidate: Candidate) -> bool:
    """SPEC 4: dated up to the slot, and after the previous digest's slot or arrived late."""
    if candidate.date > window.slot.at:
        return False
    if candidate.date > window.start:
        return True
    return window.late_after is not None and candidate.first_seen > window.late_after


def select(window: Window, candidates: Iterable[Candidate]) -> list[str]:
    """Ids of the candidates the window holds."""
    return [c.article_id for c in candidates if belongs(window, c)]


@dataclass(frozen=True)
class Item:
    """One article as the digest shows it."""

    title: str
    summary: str
    date: datetime
    url: str


def oldest_first(entries: Iterable[Entry]) -> list[Entry]:
    """Entries in reading order for a week: by date, then id."""
    return sorted(entries, key=lambda e: (e.article.date, e.id))


def items_for(config: Config, entries: Iterable[Entry]) -> list[Item]:
    """Digest items, oldest first, with absolute links to the article pages."""
    return [
        Item(
            e.article.title,
            shorten(e.article.summary),
            e.article.date,
            absolute(config.site, e.path),
        )
        for e in oldest_first(entries)
    ]


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Cut text at a word boundary to at most limit characters, with … when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—–-") + "…"


def date_range(start: date, end: date, language: str) -> str:
    """A localised date interval, months spelled out: 13–20 лютого 2026 р. / Feb 13 – 20, 2026.

    CLDR has no wide-month interval for most locales; as TR35 allows, the abbreviated one is
    widened (MMM -> MMMM), which also keeps the genitive month form where a language has one.
    """
    locale = Locale.parse(babel_locale(language))
    if start == end:
        return format_skeleton("yMMMMd", start, locale=locale)
    formats = locale.interval_formats.get("yMMMd")
    if formats is None:
        first, last = (format_date(day, "long", locale=locale) for day in (start, end))
        return f"{first} – {last}"
    if start.year != end.year:
        field = "y"
    elif start.month != end.month:
        field = "M"
    else:
        field = "d"
    parts = formats.get(field) or formats["y"]
    widened = [re.sub(r"(?<!M)MMM(?!M)", "MMMM", pattern) for pattern in parts]
    return "".join(
        parse_pattern(pattern).apply(day, locale)
        for pattern, day in zip(widened, (start, end), strict=True)
    )


@dataclass(frozen=True)
class Parts:
    """A digest rendered: the web page, and the mail's HTML and text with the link marker."""

    heading: str
    subject: str
    web_html: str
    mail_html: str
    mail_text: str
    shown: int


def web_path(week: str) -> str:
    """Where a digest's page lives in the publish folder."""
    return f"digests/{week}.html"


def file_names(week: str) -> tuple[str, str, str]:
    """The digest's published files: web page, text part, public .eml."""
    return (f"digests/{week}.html", f"digests/{week}.txt", f"digests/{week}.eml")


def generic_unsubscribe(config: Config) -> str:
    """The list-wide unsubscribe link: mail the sender with subject 'unsubscribe'."""
    from feeds.mail.headers import split_mailbox  # as the From header reads it

    return f"mailto:{split_mailbox(config.digest.from_)[1]}?subject=unsubscribe"


def render(
    config: Config, window: Window, items: Sequence[Item], marker: str, limit: int = MAIL_HTML_LIMIT
) -> Parts:
    """Render the web page and the mail parts; the mail lists as many items as fit the limit.

    `marker` stands where each subscriber's own unsubscribe link goes (see message.py).
    """
    env = digest_env(config)
    heading = date_range(
        window.start.astimezone(config.site.tz).date(),
        window.slot.at.astimezone(config.site.tz).date(),
        config.site.language,
    )
    subject = config.digest.subject.replace("{title}", config.site.title).replace(
        "{range}", heading
    )
    base = {
        "site": config.site,
        "heading": heading,
        "week": window.slot.week,
        "web_url": absolute(config.site, web_path(window.slot.week)),
        "home_url": absolute(config.site, ""),
        "archive_url": absolute(config.site, "digests/"),
        "total": len(items),
    }

    def page(template: str, shown: int, mode: str, unsubscribe: str) -> str:
        more = len(items) - shown
        context = {
            **base,
            "items": items[:shown],
            "more": more,
            "more_text": more_text(config, more),
            "mode": mode,
            "unsubscribe_url": unsubscribe,
        }
        return env.get_template(template).render(context)

    def mail_html(shown: int) -> str:
        return inline_css(page("digest.html", shown, "mail", marker))

    def wire_size(shown: int) -> int:
        return encoded_size(mail_html(shown)) + encoded_size(
            page("digest.txt", shown, "mail", marker)
        )

    web = inline_css(page("digest.html", len(items), "web", generic_unsubscribe(config)))
    shown = fit(wire_size, len(items), limit)
    return Parts(
        heading=heading,
        subject=subject,
        web_html=web,
        mail_html=mail_html(shown),
        mail_text=page("digest.txt", shown, "mail", marker),
        shown=shown,
    )


def fit(size: Callable[[int], int], total: int, limit: int) -> int:
    """The most items (at least one) whose mail stays within limit bytes."""
    if total == 0 or size(total) <= limit:
        return total
    low, high = 1, total - 1  # low always fits (or is the floor), high+1 never does
    while low < high:
        middle = (low + high + 1) // 2
        if size(middle) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes; @media rules (dark mode) stay in <style>."""
    return str(_inliner().inline(html))


@cache
def _inliner() -> Any:
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def more_text(config: Config, count: int) -> str:
    """'N more on the site' in the site's language, with the right plural form."""
    if count <= 0:
        return ""
    words = digest_labels(config)
    form = Locale.parse(babel_locale(config.site.language)).plural_form(count)
    pattern = words.get(f"more_{form}") or words["more_other"]
    return pattern.replace("{n}", str(count))


def digest_labels(config: Config) -> dict[str, str]:
    """The digest's interface words in the site's language (English where missing)."""
    table: dict[str, dict[str, str]] = {}
    for folder in reversed(template_dirs(config)):
        path = folder / LABELS_FILE
        if path.is_file():
            for language, words in _read_toml(path).items():
                table.setdefault(language, {}).update(words)
    language = config.site.language.split("-")[0].lower()
    return {**table.get("en", {}), **table.get(language, {})}


def _read_toml(path: Path) -> dict[str, dict[str, str]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def digest_env(config: Config) -> jinja2.Environment:
    """Jinja for the digest: HTML templates autoescaped, text templates not."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(config)]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    tz = config.site.tz
    locale = babel_locale(config.site.language)

    def when(value: datetime) -> str:
        local = value.astimezone(tz)
        text = format_date(local.date(), format="long", locale=locale)
        if (local.hour, local.minute) != (0, 0):
            text += ", " + format_time(local.time(), format="short", locale=locale)
        return text

    env.filters["when"] = when
    env.globals["t"] = digest_labels(config)
    env.globals["ft"] = labels(config)  # the sign-up form on the web version (signup.html)
    env.globals["web"] = config.web
    env.globals["lang"] = config.site.language
    return env
