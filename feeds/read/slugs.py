"""Readable ASCII slugs (Ukrainian by the national standard), unique and permanent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from slugify import slugify
from translitua import UkrainianKMU, translit

MAX_LENGTH = 80
# Names a slug may not take: `index` is a folder's own page, and Windows (so a publish
# folder synced to it, or served from it) refuses these device names with any extension.
RESERVED = frozenset(
    ["index", "con", "prn", "aux", "nul"]
    + [f"{device}{n}" for device in ("com", "lpt") for n in range(1, 10)]
)
RESERVED_SUFFIX = "-1"


def make_slug(text: str) -> str:
    """A lowercase ASCII slug of text, '' when nothing readable is left.

    A reserved name (RESERVED, also before an extension-like suffix) gets RESERVED_SUFFIX.
    """
    latin = translit(text, UkrainianKMU)
    slug = str(slugify(latin, max_length=MAX_LENGTH, word_boundary=True, save_order=True))
    return slug + RESERVED_SUFFIX if is_reserved(slug) else slug


def is_reserved(slug: str) -> bool:
    """Whether a slug names a folder index or a Windows device (con, con.txt, LPT1...)."""
    return slug.partition(".")[0].casefold() in RESERVED


def assign_slugs(wanted: Iterable[tuple[str, str]], known: Mapping[str, str]) -> dict[str, str]:
    """Give each (id, base slug), in priority order, a slug unique among all.

    Ids in known keep their slug for ever; new ids take the base slug or the
    first free `-2`, `-3`... after it.
    """
    result = dict(known)
    taken = set(known.values())
    tried: dict[str, int] = {}  # base -> last suffix found taken: the search resumes there
    for article_id, base in wanted:
        if article_id in result:
            continue
        n = tried.get(base, 1)
        slug = base if n == 1 else f"{base}-{n}"
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        tried[base] = n
        taken.add(slug)
        result[article_id] = slug
    return result
