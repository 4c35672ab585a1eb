"""Regenerate the screenshots in docs/: the subscribe page, the XSLT feed view, an article.

Builds the repository's seeds/ into a temporary site, previews it with `feeds serve`
(Chromium applies feed.xsl only over HTTP, not to file:// URLs) and saves PNGs with
headless Chromium.  Run from the repository root:  python docs/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import browser  # noqa: E402
from tests.support_web import feeds_serve, make_site  # noqa: E402

SHOTS = {
    "subscribe.png": "subscribe.html",
    "feed-xslt-view.png": "rss.xml",
    "article.png": "articles/{slug}.html",
}


def main() -> int:
    """Build the example site and save one PNG per page in docs/."""
    with tempfile.TemporaryDirectory(prefix="feeds-shots-") as folder:
        site = make_site(Path(folder))
        for seed in sorted((REPO / "seeds").iterdir()):
            if seed.is_file():
                site.seed(seed.name, seed.read_bytes())
        if site.main("build", "--now", "2026-03-01") != 0:
            return 1
        article = sorted((site.out / "articles").glob("*.html"))[0]
        with feeds_serve(site) as base:
            for png, page in SHOTS.items():
                url = base + page.format(slug=article.stem)
                browser.screenshot(url, REPO / "docs" / png, width=1000, height=1000)
                print(f"docs/{png} <- {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
