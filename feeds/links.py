"""Where things live: publish-folder paths, absolute URLs and permanent ids."""

from __future__ import annotations

import posixpath

from feeds.config import SiteConfig


def absolute(site: SiteConfig, path: str) -> str:
    """The absolute URL of a publish-folder path ('' is the home page)."""
    return site.base_url + path


def relative(from_page: str, to_path: str) -> str:
    """A relative link from one publish-folder page to another path."""
    start = posixpath.dirname(from_page) or "."
    if to_path.endswith("/") or to_path == "":
        target = to_path.rstrip("/") or "."
        link = posixpath.relpath(target, start)
        return "./" if link == "." else link + "/"
    return posixpath.relpath(to_path, start)


def tag_uri(site: SiteConfig, specific: str) -> str:
    """An RFC 4151 tag: URI on the site's host; stable as long as the host is."""
    return f"tag:{site.host},{site.id_year}:{specific}"
