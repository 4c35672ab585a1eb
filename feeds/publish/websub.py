"""WebSub: tell the configured hub which feeds changed (a failed ping is only a warning)."""

from __future__ import annotations

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from feeds.config import Config
from feeds.site.links import absolute

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
    refused: list[tuple[int, str]] = []
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
            exc.close()
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            # one line, whatever the server sent back (a bad status line may hold newlines)
            reason = " ".join(str(getattr(exc, "reason", exc)).split()) or type(exc).__name__
            left = len(topics) - done
            warnings.append(f"WebSub hub {hub} not reached ({reason}); {left} feeds not announced")
            break
        if not 200 <= status < 300:
            refused.append((status, topic))
    if refused:
        status, topic = refused[0]
        more = f" and {len(refused) - 1} more feeds" if len(refused) > 1 else ""
        warnings.insert(0, f"WebSub hub {hub} answered {status} for {topic}{more}")
    for warning in warnings:
        log.warning("%s", warning)
    return warnings
