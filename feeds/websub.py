"""WebSub: tell the configured hub which feeds changed (a failed ping is only a warning)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from feeds.config import Config
from feeds.links import absolute

log = logging.getLogger(__name__)

FEED_NAMES = ("rss.xml", "atom.xml", "feed.json")
TIMEOUT = 5.0


def changed_feeds(written: Iterable[str]) -> list[str]:
    """The subscription feeds (site, tag, section) among written publish-folder paths."""
    return [
        path
        for path in written
        if path.rpartition("/")[2] in FEED_NAMES and not path.startswith("archive/")
    ]


def ping_hub(config: Config, paths: Iterable[str], timeout: float = TIMEOUT) -> list[str]:
    """POST hub.mode=publish for each feed path; return the warnings (also logged)."""
    hub = config.feed.websub_hub
    warnings: list[str] = []
    if not hub:
        return warnings
    topics = list(paths)
    for done, path in enumerate(topics):
        topic = absolute(config.site, path)
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
        request = urllib.request.Request(
            hub,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            left = len(topics) - done
            warnings.append(f"WebSub hub {hub} not reached ({reason}); {left} feeds not announced")
            break
        if not 200 <= status < 300:
            warnings.append(f"WebSub hub {hub} answered {status} for {topic}")
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
