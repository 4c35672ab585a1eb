"""Time `feeds build` against an I/O floor, Hugo and Pelican on the same generated corpus.

    python3 benchmarks/run.py --sizes 1000,10000 [--with-100k] [--baselines floor,hugo,pelican]
                              [--repeat 3] [--install-pelican]

Every figure is the wall time of a child process, measured around os.wait4 (peak RSS is the
child's ru_maxrss). Steps: cold build (fresh output and state folders), no-change rebuild,
add-one-article rebuild, edit-one-article rebuild. Prints a table per size with ratios to the
I/O floor and to Hugo, and writes benchmarks/results/{results.md,runs.csv,chart.png}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as corpus_mod  # a script folder, not a package
import extras

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
STEPS = ("cold", "nochange", "add", "edit")
STEP_LABELS = {
    "cold": "cold build",
    "nochange": "no-change rebuild",
    "add": "add one article",
    "edit": "edit one article",
}
ALL_BASELINES = ("floor", "hugo", "pelican")
FEEDS_SYSTEMS = ("feeds", "feeds-md")  # feeds on .txt seeds; on the same corpus as .md
MD_COLD_TARGET = 1.25  # issue 16: a cold .md build within 1.25× the .txt one
MD_SAME_TOLERANCE = 1.15  # "as fast as .txt" for the other steps, allowing for noise
SITE_TITLE = "Новини"
BASE_URL = "https://news.example.org/"
TIMEZONE = "Europe/Kyiv"
FEED_ITEMS = 50
PAGE_SIZE = 20


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    n: int
    system: str
    step: str
    repeat: int
    wall: float
    cpu: float
    rss_kb: int
    load: float  # 1-minute load average when the run started (the machine is shared)


class ChildFailed(RuntimeError):
    """A measured command exited non-zero."""


class Launcher:
    """benchmarks/spawn.py, started once while this process is still small (see there why)."""

    _proc: subprocess.Popen[str] | None = None

    @classmethod
    def get(cls) -> subprocess.Popen[str]:
        """The running launcher."""
        if cls._proc is None:
            cls._proc = subprocess.Popen(
                [sys.executable, "-S", str(HERE / "spawn.py")],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
        return cls._proc


def measure(argv: Sequence[str], log: Path, cwd: Path) -> tuple[float, float, int]:
    """Run argv; (wall seconds, user+sys CPU seconds, peak RSS in KiB) from os.wait4."""
    launcher = Launcher.get()
    assert launcher.stdin is not None and launcher.stdout is not None
    request = {"argv": [str(a) for a in argv], "cwd": str(cwd), "log": str(log)}
    launcher.stdin.write(json.dumps(request) + "\n")
    launcher.stdin.flush()
    answer = json.loads(launcher.stdout.readline())
    if answer["status"] != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise ChildFailed(f"{argv[0]} exited {answer['status']}; log {log}:\n{tail}")
    return answer["wall"], answer["cpu"], answer["rss_kb"]


# --- the systems ---------------------------------------------------------------------------


@dataclass
class System:
    """A static generator under test: how to set up a fresh run and the command to time."""

    name: str
    steps: tuple[str, ...]
    prepare: Callable[[Path, corpus_mod.CorpusPaths], list[str]]  # run dir -> argv


_SNAPSHOT: list[Path] = []  # set by --feeds-rev: run feeds from an exported commit


def feeds_command() -> list[str]:
    """The `feeds` console script next to this Python (not a pyenv shim), or the snapshot's."""
    if _SNAPSHOT:
        # `python -m feeds` with the exported tree first on sys.path: the package's own
        # entry point, whichever layout that commit has.
        code = f"import sys, runpy; sys.path.insert(0, {str(_SNAPSHOT[0])!r}); runpy.run_module('feeds', run_name='__main__', alter_sys=True)"  # noqa: E501
        return [sys.executable, "-c", code]
    script = Path(sys.executable).parent / "feeds"
    return [str(script)] if script.exists() else [sys.executable, "-m", "feeds"]


def export_feeds(rev: str, work: Path) -> str:
    """git archive REV's feeds/ (and templates/, where the commit keeps them at the top)
    into work/feeds-<commit>/; returns the full commit id."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    target = work / f"feeds-{commit[:12]}"
    if not (target / "feeds" / "__init__.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-tree", "--name-only", commit],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        parts = [name for name in ("feeds", "templates") if name in listed]
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", commit, *parts], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    _SNAPSHOT[:] = [target]
    return commit


def prepare_feeds(run_dir: Path, paths: corpus_mod.CorpusPaths) -> list[str]:
    """A feeds.toml like the tests' (state outside out); the build command."""
    config = run_dir / "feeds.toml"
    config.write_text(
        f'[site]\ntitle = "{SITE_TITLE}"\nbase_url = "{BASE_URL}"\nlanguage = "uk"\n'
        f'timezone = "{TIMEZONE}"\nauthor = "Редакція"\nid_year = 2026\n\n'
        f'[paths]\nstate = "state"\n\n[feed]\nmax_items = {FEED_ITEMS}\n'
        f"page_size = {PAGE_SIZE}\n",
        encoding="utf-8",
    )
    out = run_dir / "public"
    return [*feeds_command(), "build", "--seeds", str(paths.seeds), "--out", str(out),
            "--config", str(config)]  # fmt: skip


def prepare_feeds_md(run_dir: Path, paths: corpus_mod.CorpusPaths) -> list[str]:
    """feeds on the Markdown seeds of the same corpus (`--markdown`)."""
    argv = prepare_feeds(run_dir, paths)
    argv[argv.index(str(paths.seeds))] = str(paths.markdown)
    return argv


def prepare_floor(run_dir: Path, paths: corpus_mod.CorpusPaths) -> list[str]:
    """Plain Python: read every seed, write one file per seed."""
    return [sys.executable, str(HERE / "floor.py"), str(paths.seeds), str(run_dir / "public")]


HUGO_CONFIG = """\
baseURL = "{base_url}"
languageCode = "uk"
defaultContentLanguage = "uk"
title = "{title}"
timeZone = "{tz}"
disableKinds = ["taxonomy", "term"]
paginate = {page_size}
rssLimit = {feed_items}
enableGitInfo = false

[outputs]
home = ["HTML", "RSS"]
section = ["HTML"]
page = ["HTML"]

[[module.mounts]]
source = "{content}"
target = "content/posts"
"""

HUGO_LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="uk"><head><meta charset="utf-8"><title>{{ .Title }} — {{ .Site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .Permalink }}">{{ end }}
</head><body><header><a href="{{ .Site.Home.RelPermalink }}">{{ .Site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
""",  # noqa: E501
    "_default/single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p><time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
{{ .Content }}</article>
<nav>{{ with .PrevInSection }}<a rel="prev" href="{{ .RelPermalink }}">← {{ .Title }}</a>{{ end }}
{{ with .NextInSection }}<a rel="next" href="{{ .RelPermalink }}">{{ .Title }} →</a>{{ end }}</nav>
{{ end }}
""",  # noqa: E501
    "_default/list.html": """{{ define "main" }}{{ range .Paginator.Pages }}<article>
<h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2><p>{{ .Params.summary }}</p></article>
{{ end }}{{ template "_internal/pagination.html" . }}{{ end }}
""",
}


def prepare_hugo(run_dir: Path, paths: corpus_mod.CorpusPaths) -> list[str]:
    """A minimal Hugo site mounting the corpus twin: one page per article, home + RSS."""
    site = run_dir / "site"
    for rel, text in HUGO_LAYOUTS.items():
        target = site / "layouts" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (site / "config.toml").write_text(
        HUGO_CONFIG.format(
            base_url=BASE_URL,
            title=SITE_TITLE,
            tz=TIMEZONE,
            page_size=PAGE_SIZE,
            feed_items=FEED_ITEMS,
            content=paths.hugo,
        ),
        encoding="utf-8",
    )
    return ["hugo", "--source", str(site), "--destination", str(run_dir / "public"),
            "--cacheDir", str(run_dir / "hugo-cache"), "--quiet"]  # fmt: skip


PELICAN_CONFIG = """\
AUTHOR = "Редакція"
SITENAME = "{title}"
SITEURL = "{site_url}"
TIMEZONE = "{tz}"
DEFAULT_LANG = "uk"
DEFAULT_PAGINATION = {page_size}
FEED_DOMAIN = SITEURL
FEED_MAX_ITEMS = {feed_items}
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
RSS_FEED_SUMMARY_ONLY = False  # full content, as feeds writes
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
ARTICLE_URL = "articles/{{slug}}.html"
ARTICLE_SAVE_AS = "articles/{{slug}}.html"
# feeds makes no author or tag pages for this corpus; neither does this site. (The default
# theme needs the category page: the one category, "misc", keeps its paginated listing.)
AUTHOR_SAVE_AS = AUTHORS_SAVE_AS = ""
TAG_SAVE_AS = TAGS_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
DELETE_OUTPUT_DIRECTORY = False
"""


def pelican_binary(venv: Path) -> Path:
    """The pelican script of the throwaway venv."""
    return venv / "bin" / "pelican"


def make_prepare_pelican(venv: Path) -> Callable[[Path, corpus_mod.CorpusPaths], list[str]]:
    """prepare() for Pelican from the given venv."""

    def prepare(run_dir: Path, paths: corpus_mod.CorpusPaths) -> list[str]:
        conf = run_dir / "pelicanconf.py"
        conf.write_text(
            PELICAN_CONFIG.format(
                title=SITE_TITLE,
                site_url=BASE_URL.rstrip("/"),
                tz=TIMEZONE,
                page_size=PAGE_SIZE,
                feed_items=FEED_ITEMS,
            ),
            encoding="utf-8",
        )
        return [str(pelican_binary(venv)), str(paths.pelican), "--output",
                str(run_dir / "public"), "--settings", str(conf), "--quiet"]  # fmt: skip

    return prepare


def install_pelican(venv: Path) -> None:
    """python3 -m venv VENV && pip install pelican markdown."""
    print(f"installing Pelican into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pelican", "markdown"], check=True)


def version_of(argv: Sequence[str]) -> str:
    """First line a `--version` style command prints, or '?'."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def choose_systems(args: argparse.Namespace) -> tuple[list[System], dict[str, str], list[str]]:
    """feeds plus the requested baselines that are available; (systems, versions, skipped)."""
    systems = [System("feeds", STEPS, prepare_feeds)]
    if args.markdown:
        systems.append(System("feeds-md", STEPS, prepare_feeds_md))
    versions = {
        "feeds": version_of([*feeds_command(), "--version"]).removeprefix("feeds "),
        "python": sys.version.split()[0],
    }
    skipped: list[str] = []
    for name in args.baselines:
        if name == "floor":
            systems.append(System("floor", ("cold",), prepare_floor))
        elif name == "hugo":
            if shutil.which("hugo") is None:
                skipped.append("hugo: not installed (apt-get install -y hugo)")
                continue
            versions["hugo"] = version_of(["hugo", "version"]).split("+")[0].removeprefix("hugo ")
            systems.append(System("hugo", STEPS, prepare_hugo))
        elif name == "pelican":
            venv = args.pelican_venv
            if not pelican_binary(venv).exists():
                if not args.install_pelican:
                    skipped.append(f"pelican: no venv at {venv} (add --install-pelican)")
                    continue
                install_pelican(venv)
            versions["pelican"] = version_of([str(pelican_binary(venv)), "--version"])
            systems.append(System("pelican", STEPS, make_prepare_pelican(venv)))
    return systems, versions, skipped


# --- one size ------------------------------------------------------------------------------


def edited(article: corpus_mod.Article) -> corpus_mod.Article:
    """The same article with one more sentence in its last paragraph (title unchanged)."""
    blocks = list(article.blocks)
    kind, text = blocks[-1]
    blocks[-1] = (kind, text + " Редакція оновила цей матеріал після уточнення даних.")
    return corpus_mod.Article(article.stem, article.date, tuple(blocks))


def run_size(
    n: int,
    systems: list[System],
    repeat: int,
    work: Path,
    seed: int,
    baseline_steps: tuple[str, ...],
    journal: Path,
) -> list[Run]:
    """All systems x steps x repeats on one corpus; the corpus is restored after each repeat."""
    paths = corpus_mod.generate(work / f"corpus-{n}-s{seed}", n, seed)
    middle = next(a for i, a in enumerate(corpus_mod.articles(n, seed)) if i == n // 2)
    extra = corpus_mod.extra_article(n, seed)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    runs_root = work / "runs" / f"{stamp}-n{n}"
    runs: list[Run] = []
    for rep in range(repeat):
        for system in systems:
            steps = (
                system.steps
                if system.name in FEEDS_SYSTEMS
                else tuple(s for s in system.steps if s in baseline_steps)
            )
            run_dir = runs_root / f"{system.name}-{rep}"  # fresh folder for every cold run
            run_dir.mkdir(parents=True)
            argv = system.prepare(run_dir, paths)
            log = run_dir / "log.txt"
            try:
                for step in steps:
                    if step == "add":
                        # 5 s old, as a file dropped in a moment ago: past feeds' settle window.
                        corpus_mod.write_article(paths, extra, mtime=time.time() - 5)
                    elif step == "edit":
                        corpus_mod.write_article(paths, edited(middle), mtime=time.time() - 5)
                    load = os.getloadavg()[0]
                    wall, cpu, rss = measure(argv, log, cwd=run_dir)
                    run = Run(n, system.name, step, rep, wall, cpu, rss, round(load, 2))
                    runs.append(run)
                    append_csv(run, journal)
                    print(
                        f"  n={n:<6} {system.name:<8} {step:<9} #{rep}  {wall:8.3f} s"
                        f"  cpu {cpu:7.2f} s  rss {rss / 1024:7.1f} MB",
                        flush=True,
                    )
            except ChildFailed as exc:
                if system.name in FEEDS_SYSTEMS:
                    raise
                print(f"  {system.name} failed, left out of the table: {exc}", flush=True)
            finally:
                restore(paths, extra, middle)
    return runs


def restore(paths: corpus_mod.CorpusPaths, extra: corpus_mod.Article,
            middle: corpus_mod.Article) -> None:  # fmt: skip
    """Undo the add and edit steps so the next repeat starts from the same corpus."""
    for folder, suffix in (
        (paths.seeds, "txt"),
        (paths.pelican, "md"),
        (paths.hugo, "md"),
        (paths.markdown, "md"),
    ):
        (folder / f"{extra.stem}.{suffix}").unlink(missing_ok=True)
    corpus_mod.write_article(paths, middle)


# --- reporting -----------------------------------------------------------------------------


@dataclass
class Summary:
    """Medians per (n, system, step) plus the context of the run."""

    wall: dict[tuple[int, str, str], float] = field(default_factory=dict)
    cpu: dict[tuple[int, str, str], float] = field(default_factory=dict)
    rss_kb: dict[tuple[int, str, str], float] = field(default_factory=dict)
    count: dict[tuple[int, str, str], int] = field(default_factory=dict)


def summarise(runs: list[Run]) -> Summary:
    """Medians over repeats."""
    summary = Summary()
    keys = sorted({(r.n, r.system, r.step) for r in runs})
    for key in keys:
        group = [r for r in runs if (r.n, r.system, r.step) == key]
        summary.wall[key] = statistics.median(r.wall for r in group)
        summary.cpu[key] = statistics.median(r.cpu for r in group)
        summary.rss_kb[key] = statistics.median(r.rss_kb for r in group)
        summary.count[key] = len(group)
    return summary


def fmt_time(value: float | None) -> str:
    """Seconds, 3 significant figures."""
    if value is None:
        return "—"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def fmt_mb(kb: float | None) -> str:
    """KiB -> MB (MiB) text."""
    if kb is None:
        return "—"
    mb = kb / 1024
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def fmt_ratio(a: float | None, b: float | None) -> str:
    """a / b as 0.42×."""
    if a is None or not b:
        return "—"
    ratio = a / b
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def target_check(n: int, step: str, summary: Summary) -> str:
    """The issue-8 target for this row, with ✓ / ✗ from this run's numbers."""
    wall = summary.wall.get((n, "feeds", step))
    if wall is None:
        return ""
    checks: list[tuple[str, bool | None]] = []
    if n == 10_000 and step == "cold":
        hugo = summary.wall.get((n, "hugo", "cold"))
        floor = summary.wall.get((n, "floor", "cold"))
        checks.append(("< hugo", None if hugo is None else wall < hugo))
        checks.append(("≤ 2.5× floor", None if floor is None else wall <= 2.5 * floor))
    elif n == 10_000 and step == "nochange":
        checks.append(("≤ 0.3 s", wall <= 0.3))
    elif n == 10_000 and step in ("add", "edit"):
        checks.append(("≤ 0.5 s", wall <= 0.5))
    elif n == 100_000 and step == "add":
        checks.append(("≤ 1.5 s", wall <= 1.5))
    return ", ".join(f"{text} {'?' if ok is None else '✓' if ok else '✗'}" for text, ok in checks)


def rss_target(n: int, summary: Summary) -> str:
    """Peak-RSS target of the cold build."""
    rss = summary.rss_kb.get((n, "feeds", "cold"))
    limit = {10_000: 120, 100_000: 250}.get(n)
    if rss is None or limit is None:
        return ""
    return f"≤ {limit} MB {'✓' if rss / 1024 <= limit else '✗'}"


def table(n: int, summary: Summary, systems: list[str], context: dict[str, str]) -> str:
    """The markdown table for one corpus size."""
    baselines = [s for s in systems if s not in FEEDS_SYSTEMS]
    markdown = "feeds-md" in systems
    repeats = summary.count.get((n, "feeds", "cold"), 0)
    head = ["step", *systems]
    head += [f"feeds ÷ {b}" + (" (cold)" if b == "floor" else "") for b in baselines]
    head.append("target (issue 8)")
    if markdown:
        head += ["feeds-md ÷ feeds", "target (issue 16)"]
    lines = [
        f"### N = {n:,} articles".replace(",", " "),
        "",
        f"{context.get(f'corpus-{n}', '')}; median of {repeats} run(s); "
        f"1-min load average {context.get(f'load-{n}', '?')} at the start of the runs.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
    ]
    floor_cold = summary.wall.get((n, "floor", "cold"))
    for step in STEPS:
        feeds = summary.wall.get((n, "feeds", step))
        cells = [STEP_LABELS[step]]
        cells += [fmt_time(summary.wall.get((n, s, step))) for s in systems]
        for b in baselines:
            other = floor_cold if b == "floor" else summary.wall.get((n, b, step))
            cells.append(fmt_ratio(feeds, other))
        cells.append(target_check(n, step, summary))
        if markdown:
            cells += md_cells(n, step, summary)
        lines.append("| " + " | ".join(cells) + " |")
    feeds_rss = summary.rss_kb.get((n, "feeds", "cold"))
    cells = ["peak RSS, cold build"]
    cells += [fmt_mb(summary.rss_kb.get((n, s, "cold"))) for s in systems]
    cells += [fmt_ratio(feeds_rss, summary.rss_kb.get((n, b, "cold"))) for b in baselines]
    cells.append(rss_target(n, summary))
    if markdown:
        rss_md = summary.rss_kb.get((n, "feeds-md", "cold"))
        cells += [fmt_ratio(rss_md, feeds_rss), ""]
    lines.append("| " + " | ".join(cells) + " |")
    cells = ["CPU (user+sys), cold build"]
    cells += [fmt_time(summary.cpu.get((n, s, "cold"))) for s in systems]
    cells += [
        fmt_ratio(summary.cpu.get((n, "feeds", "cold")), summary.cpu.get((n, b, "cold")))
        for b in baselines
    ]
    cells.append("")
    if markdown:
        cpu_md = summary.cpu.get((n, "feeds-md", "cold"))
        cells += [fmt_ratio(cpu_md, summary.cpu.get((n, "feeds", "cold"))), ""]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def md_cells(n: int, step: str, summary: Summary) -> list[str]:
    """The `.md` run against the `.txt` run of the same step: ratio, and the issue-16 target
    (cold ≤ 1.25×; the other steps as fast, within MD_SAME_TOLERANCE of noise)."""
    md = summary.wall.get((n, "feeds-md", step))
    txt = summary.wall.get((n, "feeds", step))
    if md is None or not txt:
        return ["—", ""]
    limit, text = (
        (MD_COLD_TARGET, f"≤ {MD_COLD_TARGET}× .txt")
        if step == "cold"
        else (MD_SAME_TOLERANCE, f"≈ .txt (≤ {MD_SAME_TOLERANCE}×)")
    )
    return [fmt_ratio(md, txt), f"{text} {'✓' if md / txt <= limit else '✗'}"]


def chart(summary: Summary, systems: list[str], path: Path) -> None:
    """Time against N, one line per system, log scales: cold build and add-one rebuild."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("cold", "cold build"), ("nochange", "no-change rebuild"), ("add", "add one article"))
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4.2), sharey=True)
    styles = {"feeds": "o-", "feeds-md": "D-", "floor": "s--", "hugo": "^-", "pelican": "v-"}
    colors = {"feeds": "C0", "feeds-md": "C1", "floor": "C7", "hugo": "C3", "pelican": "C2"}
    for ax, (step, title) in zip(axes, panels, strict=True):
        for system in systems:
            # The floor only has a cold figure; it is the reference line on every panel.
            wanted = "cold" if system == "floor" else step
            points = sorted(
                (n, wall)
                for (n, s, st), wall in summary.wall.items()
                if s == system and st == wanted
            )
            if points:
                label = "I/O floor (cold)" if system == "floor" else system
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, styles.get(system, "o-"), color=colors.get(system), label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("articles (N)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time, s (child process)")
    axes[0].legend()
    fig.suptitle("feeds build vs. I/O floor, Hugo, Pelican (same corpus, same machine)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_csv(runs: list[Run], path: Path) -> None:
    """Every measured run."""
    path.unlink(missing_ok=True)
    for run in runs:
        append_csv(run, path)


def append_csv(run: Run, path: Path) -> None:
    """Add one run to a CSV journal (header on first write), so a crash loses nothing."""
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(run).keys()))
        if new:
            writer.writeheader()
        writer.writerow(asdict(run))


def read_csv(path: Path) -> list[Run]:
    """Runs back from runs.csv (for --report-from)."""
    with open(path, encoding="utf-8") as handle:
        return [
            Run(int(r["n"]), r["system"], r["step"], int(r["repeat"]), float(r["wall"]),
                float(r["cpu"]), int(r["rss_kb"]), float(r.get("load") or "nan"))
            for r in csv.DictReader(handle)
        ]  # fmt: skip


def git_describe() -> str:
    """HEAD's short id, '+dirty' when feeds/ has uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "feeds"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return f"{head}{'+dirty' if dirty else ''}"


def load_text() -> str:
    """1-minute load average."""
    return f"{os.getloadavg()[0]:.2f}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated article counts")
    parser.add_argument("--with-100k", action="store_true", help="also N = 100 000 (1 run)")
    parser.add_argument(
        "--baselines", default="floor,hugo,pelican",
        help="comma-separated subset of floor,hugo,pelican ('' for none); absent ones are skipped",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure, N ≤ 10 000")
    parser.add_argument("--seed", type=int, default=corpus_mod.DEFAULT_SEED)
    parser.add_argument("--work", type=Path, default=HERE / "work", help="corpora and run dirs")
    parser.add_argument("--results", type=Path, default=HERE / "results", help="output folder")
    parser.add_argument("--pelican-venv", type=Path, default=HERE / "work" / "pelican-venv")
    parser.add_argument("--install-pelican", action="store_true", help="create the venv if absent")
    parser.add_argument(
        "--full-baselines", action="store_true",
        help="run every baseline step above 10 000 too (default there: cold build only)",
    )  # fmt: skip
    parser.add_argument(
        "--no-extras", dest="extras", action="store_false",
        help="skip the watcher-tick (100 000 files) and digest-throughput rows",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    parser.add_argument(
        "--markdown", action="store_true",
        help="also build the same corpus written as .md seeds (system feeds-md; issue 16)",
    )  # fmt: skip
    parser.add_argument(
        "--report-from", type=Path, metavar="CSV", nargs="+",
        help="measure nothing: tables and chart from runs CSVs (e.g. an interrupted run's)",
    )  # fmt: skip
    parser.add_argument(
        "--feeds-rev", metavar="REV",
        help="benchmark feeds as committed at REV (git archive), not the working tree",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    if args.with_100k and 100_000 not in args.sizes:
        args.sizes.append(100_000)
    args.baselines = [b for b in args.baselines.split(",") if b]
    unknown = set(args.baselines) - set(ALL_BASELINES)
    if unknown:
        parser.error(f"unknown baseline(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the tables, write results."""
    args = parse_args(argv)
    Launcher.get()  # now, while this process is small
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    if args.report_from:
        return report_only(args)
    if args.feeds_rev:
        commit = export_feeds(args.feeds_rev, args.work)
        print(f"feeds from commit {commit} (exported to {_SNAPSHOT[0]})", flush=True)
        args.feeds_label = f"commit {commit[:10]}"
    else:
        args.feeds_label = "working tree " + git_describe()
    systems, versions, skipped = choose_systems(args)
    names = [s.name for s in systems]
    for line in skipped:
        print(f"skipped baseline: {line}", flush=True)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    runs: list[Run] = []
    journal = args.work / f"runs-{datetime.now():%Y%m%d-%H%M%S}.csv"
    print(f"journal: {journal}", flush=True)
    extra_rows: list[extras.ExtraRow] = []
    started = datetime.now(UTC)
    try:
        for n in args.sizes:
            repeat = args.repeat if n <= 10_000 else 1
            steps = STEPS if n <= 10_000 or args.full_baselines else ("cold",)
            before = load_text()
            print(f"N = {n}: {repeat} run(s) of {', '.join(names)} (load {before})", flush=True)
            runs += run_size(n, systems, repeat, args.work, args.seed, steps, journal)
        if args.extras:
            extra_rows = extras.measure_all(args.work, args.seed, feeds_command())
    finally:
        if not args.keep:
            shutil.rmtree(args.work / "runs", ignore_errors=True)
    if not runs:
        if extra_rows:  # --sizes '' : the extra rows alone
            print(extras.table(extra_rows))
            (args.results / "extras.json").write_text(
                json.dumps([asdict(r) for r in extra_rows], ensure_ascii=False, indent=1) + "\n",
                encoding="utf-8",
            )
            return 0
        return 1
    summary = summarise(runs)
    context = size_context(args, runs)
    report = render_report(args, summary, names, versions, skipped, context, extra_rows, started)
    print()
    print(report)
    (args.results / "results.md").write_text(report, encoding="utf-8")
    write_csv(runs, args.results / "runs.csv")
    if extra_rows:
        (args.results / "extras.json").write_text(
            json.dumps([asdict(r) for r in extra_rows], ensure_ascii=False, indent=1) + "\n",
            encoding="utf-8",
        )
    chart(summary, names, args.results / "chart.png")
    print(f"wrote {args.results / 'results.md'}, runs.csv, chart.png")
    return 0


def size_context(args: argparse.Namespace, runs: list[Run]) -> dict[str, str]:
    """Per size: the corpus's size and the range of load averages seen during its runs."""
    context: dict[str, str] = {}
    for n in {r.n for r in runs}:
        loads = [r.load for r in runs if r.n == n and r.load == r.load]
        if loads:
            context[f"load-{n}"] = f"{min(loads):.1f}–{max(loads):.1f}"
        marker = args.work / f"corpus-{n}-s{args.seed}" / "corpus.json"
        if marker.exists():
            info = json.loads(marker.read_text())
            context[f"corpus-{n}"] = f"{info['seed_bytes'] / 1e6:.1f} MB of seeds"
    return context


def report_only(args: argparse.Namespace) -> int:
    """--report-from CSV: tables and chart from earlier runs, nothing measured."""
    runs = [run for path in args.report_from for run in read_csv(path)]
    args.sizes = sorted({r.n for r in runs})
    order = [*FEEDS_SYSTEMS, *ALL_BASELINES]
    names = [s for s in order if any(r.system == s for r in runs)]
    versions = {"python": sys.version.split()[0]}
    if shutil.which("hugo") and "hugo" in names:
        versions["hugo"] = version_of(["hugo", "version"]).split("+")[0].removeprefix("hugo ")
    if pelican_binary(args.pelican_venv).exists() and "pelican" in names:
        versions["pelican"] = version_of([str(pelican_binary(args.pelican_venv)), "--version"])
    args.feeds_label = f"commit {args.feeds_rev}" if args.feeds_rev else "see the run's log"
    summary = summarise(runs)
    context = size_context(args, runs)
    started = datetime.fromtimestamp(args.report_from[0].stat().st_mtime, UTC)
    saved = args.results / "extras.json"
    rows = [extras.ExtraRow(**r) for r in json.loads(saved.read_text())] if saved.exists() else []
    report = render_report(args, summary, names, versions, [], context, rows, started)
    print(report)
    (args.results / "results.md").write_text(report, encoding="utf-8")
    if [p.resolve() for p in args.report_from] != [(args.results / "runs.csv").resolve()]:
        write_csv(runs, args.results / "runs.csv")
    chart(summary, names, args.results / "chart.png")
    return 0


def render_report(
    args: argparse.Namespace,
    summary: Summary,
    names: list[str],
    versions: dict[str, str],
    skipped: list[str],
    context: dict[str, str],
    extra_rows: list[extras.ExtraRow],
    started: datetime,
) -> str:
    """results.md: context, one table per size, extra rows."""
    lines = [
        "## Benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} CPUs, Python {versions['python']}; feeds from {args.feeds_label}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python")
        + ("." if len(versions) > 1 else "")
        + f" Command: `python3 benchmarks/run.py {' '.join(sys.argv[1:])}`.",
        "",
        "Wall time of each child process (os.wait4, from a small launcher process), median of "
        "the runs; peak RSS is its ru_maxrss. Floor: read every seed and write one file per "
        "seed in plain Python; its ratio column divides every feeds figure by the floor's cold "
        "time.",
        "",
    ]
    lines += [f"- skipped baseline: {line}" for line in skipped]
    if skipped:
        lines.append("")
    for n in args.sizes:
        lines.append(table(n, summary, names, context))
    if extra_rows:
        lines.append(extras.table(extra_rows))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
