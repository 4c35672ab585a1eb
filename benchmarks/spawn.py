"""A small launcher: runs the commands it is sent, timing each with os.wait4.

The runner starts this process once and sends it one JSON line per command
({"argv": [...], "cwd": "...", "log": "..."}); it answers one JSON line
({"wall": s, "cpu": s, "rss_kb": n, "status": n}).

Why a separate process: a child's ru_maxrss starts from the memory of the process it was
forked from (the kernel keeps the high-water mark across exec). Forked from the runner, which
holds corpus data, every child would report at least the runner's size. This launcher imports
almost nothing, so what it reports is the child's own peak.
"""

import json
import os
import sys
import time


def run(argv: list, cwd: str, log: str) -> dict:
    """fork, exec argv in cwd with stdout/stderr appended to log, wait4."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, ("$ " + " ".join(argv) + "\n").encode())
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    os.close(fd)
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_kb": usage.ru_maxrss,
        "status": os.waitstatus_to_exitcode(status),
    }


def main() -> None:
    """Serve requests from stdin until it closes."""
    for line in sys.stdin:
        request = json.loads(line)
        os.sync()  # no dirty pages of the previous run flushed on this run's clock
        answer = run(request["argv"], request["cwd"], request["log"])
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
