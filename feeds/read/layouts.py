"""What the content folders of Hugo, Jekyll and Pelican mean by their file and folder names.

- Jekyll: `_posts/2026-02-20-my-trip.md` is dated by its name (when it has no `date`) and
  takes the slug `my-trip`; `_drafts/` holds drafts; `_site/`, `_layouts/` … are not content.
- Hugo: a page bundle `posts/my-trip/index.md` is the article `my-trip`, its images beside
  it; `_index.md` is a section's list page, not an article.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.metadata import version

MARKDOWN_SUFFIXES = (".md", ".markdown")
BUNDLE_INDEX = ("index.md", "index.markdown")
SECTION_PAGES = ("_index.md", "_index.markdown")
# Jekyll's and Hugo's own folders (generated site, templates, data): never articles.
TOOL_FOLDERS = frozenset(
    {
        "_site",
        "_layouts",
        "_includes",
        "_sass",
        "_data",
        "_plugins",
        "node_modules",
    }
)
_DATED_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})-(.+)$")


@cache
def renderer_version() -> str:
    """The Markdown parser's and sanitiser's versions: part of the parse fingerprint, so
    that upgrading either renders every `.md` body again."""
    names = ("comrak", "nh3", "PyYAML")
    return "md2:" + ":".join(version(name) for name in names)


def is_markdown(rel: str) -> bool:
    """Whether the seed at rel is a Markdown file (SPEC 2a) rather than a `.txt` seed."""
    return rel.endswith(MARKDOWN_SUFFIXES)


def skip_reason(rel: str, is_dir: bool) -> str:
    """Why a file or folder of another tool's content is not an article ('' when it may be)."""
    name = rel.rpartition("/")[2]
    if is_dir:
        return "a folder of the site generator, not content" if name in TOOL_FOLDERS else ""
    if name in SECTION_PAGES:
        return "a Hugo section page (_index.md), not an article"
    return ""


def article_id(rel: str) -> str:
    """The permanent id of the seed at rel: its file name without the suffix, or for a
    Hugo page bundle (`my-trip/index.md`) the bundle's folder name."""
    head, _, name = rel.rpartition("/")
    if head and name in BUNDLE_INDEX:
        return head.rpartition("/")[2]
    return name.rsplit(".", 1)[0]


def in_folder(rel: str, folder: str) -> bool:
    """Whether rel lies in a folder of that name at any depth (Jekyll: `blog/_posts/`)."""
    return folder in rel.split("/")[:-1]


def name_date(rel: str) -> str:
    """The date a `YYYY-MM-DD-name.md` file name carries ('' when it has none)."""
    match = _DATED_NAME.match(rel.rpartition("/")[2])
    return match.group(1) if match else ""


def name_slug(rel: str) -> str:
    """A Jekyll post's slug: its file name after the date (`my-trip`); '' outside `_posts`."""
    if not (in_folder(rel, "_posts") or in_folder(rel, "_drafts")):
        return ""
    match = _DATED_NAME.match(rel.rpartition("/")[2].rsplit(".", 1)[0])
    return match.group(2) if match else ""


def name_title(slug: str) -> str:
    """Jekyll's title for a post without one: its slug, words capitalised (`My Trip`)."""
    return " ".join(word.capitalize() for word in re.split(r"[-_\s]+", slug) if word)


def is_draft_folder(rel: str) -> bool:
    """Jekyll keeps unpublished posts in `_drafts/`."""
    return in_folder(rel, "_drafts")
