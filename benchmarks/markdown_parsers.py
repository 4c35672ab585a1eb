"""Markdown parsers for `.md` seeds compared on conformance and speed (issue 16).

Conformance: the CommonMark spec's own examples of the version each parser implements
(tests/fixtures/commonmark/), raw-HTML sections aside, through the transformations our
body path makes on purpose (feeds.read.markdown.sanitise and the heading shift) applied
to the parser's output and to the expected HTML alike, as tests/test_markdown_conformance.py
does for the parser feeds uses. Examples the GFM autolink extension changes on purpose (a
bare URL becomes a link) are counted apart. Speed: one core, the bodies of the benchmark
corpus's `.md` seeds (benchmarks/corpus.py), parse + render only, then with the sanitiser.

    python3 benchmarks/markdown_parsers.py [N]        # N bodies, default 10000

markdown-it-py, mdit-py-plugins, linkify-it-py and cmarkgfm must be installed for their
rows (they are not dependencies of feeds); a missing one is reported and left out.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as corpus_mod  # a script folder, not a package

from feeds.read.markdown import sanitise, shift_headings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "commonmark"
SITE = "https://news.example.org/"
RAW_HTML = ("Raw HTML", "HTML blocks")
# Examples whose bare URL or e-mail address GFM's autolink extension links, by spec version.
AUTOLINKED = {"0.29": (598, 602, 604, 607, 608), "0.31.2": (602, 608, 611, 612)}

Render = Callable[[str], str]


def comrak_render() -> Render:
    """comrak as feeds.read.markdown configures it."""
    from feeds.read import markdown

    return markdown.render_html


def cmarkgfm_render() -> Render:
    """cmark-gfm with the same extensions, raw HTML kept (sanitised after)."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
    extensions = ["table", "strikethrough", "autolink", "tasklist"]
    return lambda text: cmarkgfm.markdown_to_html_with_extensions(text, options, extensions)


def markdown_it_render() -> Render:
    """markdown-it-py as the first Markdown branch (h-md) configured it."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark", {"html": True, "linkify": True})
    md.enable(["table", "strikethrough", "linkify"])
    md.use(footnote_plugin).use(tasklists_plugin)
    return md.render


PARSERS: tuple[tuple[str, str, Callable[[], Render]], ...] = (
    ("comrak", "0.31.2", comrak_render),
    ("cmarkgfm", "0.29", cmarkgfm_render),
    ("markdown-it-py", "0.31.2", markdown_it_render),
)


def body(html: str) -> str:
    """What our body path makes of a parser's HTML (title given in the front matter)."""
    return shift_headings(sanitise(html, SITE, "spec")).strip()


def conformance(render: Render, version: str) -> tuple[int, int, list[int]]:
    """(passed, counted, failed example numbers) on the spec examples of version."""
    examples = json.loads((FIXTURES / f"spec-{version}.json").read_text(encoding="utf-8"))
    counted = [
        e
        for e in examples
        if e["section"] not in RAW_HTML and e["example"] not in AUTOLINKED[version]
    ]
    failed = [e["example"] for e in counted if body(render(e["markdown"])) != body(e["html"])]
    return len(counted) - len(failed), len(counted), failed


def corpus_bodies(count: int) -> list[str]:
    """The Markdown bodies (front matter cut off) of the benchmark corpus's `.md` seeds."""
    return [
        corpus_mod.markdown_text(article).split("---\n", 2)[2]
        for article in corpus_mod.articles(count)
    ]


def timed(render: Render, bodies: list[str], sanitised: bool) -> float:
    """Seconds to render every body (and sanitise it)."""
    start = time.perf_counter()
    for text in bodies:
        html = render(text)
        if sanitised:
            sanitise(html, SITE, "a")
    return time.perf_counter() - start


def main() -> None:
    """Print one Markdown table row per parser."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    bodies = corpus_bodies(count)
    print(f"| parser | spec | conformance | {count} bodies | with sanitiser | failed |")
    print("|---|---|---|---|---|---|")
    for name, version, make in PARSERS:
        try:
            render = make()
        except ImportError as exc:
            print(f"| {name} | — | not installed ({exc.name}) | | | |")
            continue
        passed, counted, failed = conformance(render, version)
        bare, full = timed(render, bodies, False), timed(render, bodies, True)
        print(
            f"| {name} | {version} | {passed}/{counted} ({passed / counted:.2%}) "
            f"| {bare:.2f} s | {full:.2f} s | {', '.join(map(str, failed)) or '—'} |"
        )


if __name__ == "__main__":
    main()
