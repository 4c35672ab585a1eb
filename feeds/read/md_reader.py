"""One `.md` seed's text -> Article: front matter, the tool's file layout, the rendered body.

SPEC 2a. The `.txt` block rules of SPEC 2 do not apply: the body is Markdown, rendered
and sanitised once here and carried as a single Block of kind "html".
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo

from feeds.errors import SeedError
from feeds.model import Article, Block
from feeds.read import layouts
from feeds.read.dates import DateError, parse_date
from feeds.read.frontmatter import read_header
from feeds.read.markdown import Rendered, render
from feeds.read.reader import (
    DEFAULT_LIMITS,
    Limits,
    capped,
    derive_title,
    image_value,
    tag_list,
    title_and_summary,
    visible,
)

log = logging.getLogger(__name__)


def parse_markdown(
    source: str,
    stem: str,
    text: str,
    tz: tzinfo,
    site_url: str,
    limits: Limits = DEFAULT_LIMITS,
) -> Article:
    """Parse a decoded `.md` seed; SeedError says what is wrong.

    The limits apply as to a `.txt` seed: what exceeds them is cut, and each cut is one of
    the Article's warnings.
    """
    header = read_header(source, text)
    if header.unknown:
        log.info("%s: front matter keys ignored: %s", source, ", ".join(header.unknown))
    values = header.values
    when = _date(source, values.get("date") or layouts.name_date(source), tz)
    updated = _date(source, values["updated"], tz) if values.get("updated") else None
    name_slug = layouts.name_slug(source)
    body = render(header.body, stem, site_url, take_title=not values.get("title"))
    title = visible(values.get("title", "") or body.title or _fallback_title(name_slug, body))
    if not title:
        raise SeedError(source, "no title and no text")
    warnings: list[str] = []
    title, summary = title_and_summary(
        title, values.get("summary", ""), body.summary, limits, warnings
    )
    image = image_value(values.get("image", ""), warnings) or (
        body.images[0] if body.images else ""
    )
    return Article(
        id=stem,
        source=source,
        date=when,
        title=title,
        summary=summary,
        blocks=(Block("html", body.html.strip()),) if body.html.strip() else (),
        author=capped(visible(values.get("author", "")), limits.title, "author", "", warnings),
        tags=tag_list(",".join(header.tags), limits.tags, warnings),
        image=image,
        lang=" ".join(values.get("lang", "").split())[:35],
        slug_hint=" ".join((values.get("slug", "") or name_slug).split())[:200],
        draft=header.draft or layouts.is_draft_folder(source),
        warnings=tuple(warnings),
        updated=updated,
        media=body.images,
    )


def _date(source: str, value: str, tz: tzinfo) -> datetime:
    if not value:
        raise SeedError(source, "no date: give it a date in its front matter (a page, not a post?)")
    try:
        return parse_date(value, tz)
    except DateError as exc:
        raise SeedError(source, str(exc)) from None


def _fallback_title(name_slug: str, body: Rendered) -> str:
    """Jekyll's title from the file name, else the title SPEC 2 derives from the lead."""
    if name_slug:
        return layouts.name_title(name_slug)
    return derive_title(body.summary) if body.summary else ""
