"""The I/O floor: read every seed, write one file per seed. No parsing, no templates.

    python3 benchmarks/floor.py SEEDS OUT

The least any static generator must do with this corpus; the runner times it as a child process
exactly like the real tools, so Python start-up is included.
"""

import os
import sys


def main() -> None:
    """Copy SEEDS/*.txt to OUT/<stem>.html through Python reads and writes."""
    seeds, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with os.scandir(seeds) as entries:
        for entry in entries:
            if not entry.name.endswith(".txt"):
                continue
            with open(entry.path, "rb") as handle:
                data = handle.read()
            with open(os.path.join(out, entry.name[:-4] + ".html"), "wb") as handle:
                handle.write(data)


if __name__ == "__main__":
    main()
