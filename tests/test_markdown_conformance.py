"""The CommonMark spec's own examples, through the article body path of a `.md` seed.

Each example is the body of a `.md` seed (read by feeds.read.md_reader with comrak, which
implements spec 0.31.2; rendered by feeds.site.content.blocks_to_html, as pages and feeds
get it). The expected HTML goes through
the transformations we make on purpose, so that only the parser's conformance is measured:
the sanitiser (allow-list, relative URLs made absolute) and the heading shift (h1 -> h2 when
the body has an h1). Excluded: the sections "Raw HTML" and "HTML blocks" (raw HTML is
sanitised, by design), and the examples the GFM autolink extension changes on purpose
(a bare URL inside text becomes a link), counted below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.read.markdown import sanitise, shift_tag
from feeds.read.md_reader import parse_markdown
from feeds.site.content import blocks_to_html

SPEC = Path(__file__).parent / "fixtures" / "commonmark" / "spec-0.31.2.json"
SITE = "https://news.example.org/"
EXCLUDED_SECTIONS = ("Raw HTML", "HTML blocks")
# Bare URLs that GFM's autolink extension links (CommonMark leaves them as text).
AUTOLINK_EXTENSION = (602, 608, 611, 612)
_HEADING_TAG = re.compile(r"<(/?)(h[1-6])>")


def _body(markdown: str) -> str:
    text = "---\ntitle: Spec\ndate: 2026-01-01\n---\n" + markdown
    article = parse_markdown("spec.md", "spec", text, ZoneInfo("UTC"), SITE)
    return str(blocks_to_html(article.blocks)).strip()


def _expected(html: str) -> str:
    cleaned = sanitise(html, SITE, "spec")
    if "<h1>" in cleaned:
        cleaned = _HEADING_TAG.sub(lambda m: f"<{m.group(1)}{shift_tag(m.group(2))}>", cleaned)
    return cleaned.strip()


def test_commonmark_spec_examples_render_as_the_spec_says() -> None:
    examples = json.loads(SPEC.read_text(encoding="utf-8"))
    counted = [
        e
        for e in examples
        if e["section"] not in EXCLUDED_SECTIONS and e["example"] not in AUTOLINK_EXTENSION
    ]
    failed = [e["example"] for e in counted if _body(e["markdown"]) != _expected(e["html"])]
    share = 1 - len(failed) / len(counted)
    print(f"CommonMark 0.31.2: {len(counted) - len(failed)}/{len(counted)} ({share:.2%})")
    assert len(examples) == 652
    assert len(counted) == 584
    assert share >= 0.99, f"examples that differ: {failed}"
