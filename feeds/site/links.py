"""Where things live: publish-folder paths, absolute URLs and permanent ids."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from feeds.config import SiteConfig


def absolute(site: SiteConfig, path: str) -> str:
    """The absolute URL of a publish-folder path ('' is the home page)."""
    return site.base_url + path


def relative(from_page: str, to_path: str) -> str:
    """A relative link from one publish-folder page to another path ('x/' for a folder)."""
    start = from_page.rpartition("/")[0]  # posixpath.dirname, for the paths built here
    if start and (to_path + "/").startswith(start + "/"):
        rest = to_path[len(start) + 1 :]
        return rest or "./"
    return root_prefix(from_page) + to_path if to_path else root_prefix(from_page) or "./"


def root_prefix(page: str) -> str:
    """'../' once per folder level of page: the way back to the publish folder's root."""
    return "../" * page.count("/")


IdForm = Literal["path", "host"]
"""How a site's tag: ids are made, recorded in the state once it publishes: "path" (the
base_url's path is part of them, so two sites on one host never share an id) or "host"
(the host alone: what sites that published before "path" existed keep for ever)."""


def tag_uri(site: SiteConfig, specific: str, form: IdForm = "path") -> str:
    """An RFC 4151 tag: URI for the site; stable as long as its host (and path) are.

    `tag:example.org,2000:news/STEM` for a site under /news/; a site at the root of its
    host has `tag:example.org,2000:STEM` in either form. ASCII characters an IRI may not
    hold (space, quotes, angle brackets...) are percent-encoded; letters of any script
    stay as they are.
    """
    if form == "path":
        folder = urlsplit(site.base_url).path.strip("/")
        specific = f"{folder}/{specific}" if folder else specific
    return f"tag:{site.host},{site.id_year}:{_IRI_UNSAFE.sub(_percent, specific)}"


_IRI_UNSAFE = re.compile(r'[\x00-\x20"<>\\^`{|}%\x7f]')


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode())
