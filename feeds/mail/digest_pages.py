"""The digests index page of the publish folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feeds.config import Config
from feeds.mail.digest import digest_env
from feeds.site.links import absolute


@dataclass(frozen=True)
class Listed:
    """One digest as the index lists it."""

    week: str
    heading: str
    articles: int
    slot: datetime
    href: str


def index_page(config: Config, digests: list[tuple[str, str, str, int, str]]) -> bytes:
    """digests/index.html: every digest, newest first, linking to its page."""
    listed = [
        Listed(
            week,
            heading,
            count,
            datetime.fromisoformat(slot.replace("Z", "+00:00")),
            f"{week}.html",
        )
        for week, slot, _start, count, heading in digests
    ]
    html = (
        digest_env(config)
        .get_template("digests_index.html")
        .render(
            site=config.site,
            digests=listed,
            home_url=absolute(config.site, ""),
            canonical=absolute(config.site, "digests/"),
        )
    )
    return html.encode("utf-8")
