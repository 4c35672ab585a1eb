"""Profile `feeds build` on a benchmark corpus: cold build, then a no-change rebuild.

    python3 benchmarks/profile_build.py [--n 10000] [--top 25] [--feeds-src DIR]

cProfile with a CPU-time clock (time.process_time), so other load on the machine does not
inflate the figures. Writes benchmarks/work/profile-<n>-<step>.pstats for snakeviz/pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus as corpus_mod  # a script folder, not a package

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Generate (or reuse) the corpus, profile both steps, print the top functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--work", type=Path, default=HERE / "work")
    parser.add_argument("--feeds-src", type=Path, help="folder holding the feeds package to use")
    args = parser.parse_args()
    if args.feeds_src:
        sys.path.insert(0, str(args.feeds_src.resolve()))
    from feeds.cli.main import main as feeds_main

    paths = corpus_mod.generate(args.work / f"corpus-{args.n}-s8", args.n)
    run = args.work / f"profile-run-{args.n}"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    config = run / "feeds.toml"
    config.write_text(
        '[site]\ntitle = "Новини"\nbase_url = "https://news.example.org/"\nlanguage = "uk"\n'
        'timezone = "Europe/Kyiv"\nid_year = 2026\n\n[paths]\nstate = "state"\n',
        encoding="utf-8",
    )
    argv = ["--config", str(config), "build", "--seeds", str(paths.seeds), "--out",
            str(run / "public")]  # fmt: skip
    for step in ("cold", "nochange"):
        profiler = cProfile.Profile(time.process_time)
        start = time.process_time()
        code = profiler.runcall(feeds_main, argv)
        cpu = time.process_time() - start
        assert code == 0, code
        out = args.work / f"profile-{args.n}-{step}.pstats"
        profiler.dump_stats(out)
        print(f"\n=== {step}: {cpu:.2f} s CPU in-process (imports excluded); {out}")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
