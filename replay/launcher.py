"""Run commands and report their peak memory truthfully, from a small process.

Linux keeps a process's memory high-water mark across `exec`: a command forked from a
process that holds 300 MB reports at least 300 MB as its own peak (`wait4`'s
`ru_maxrss`), whatever it used itself. The benchmark holds the memory of its floor and
of DuckDB, so until 2026-11-27 every peak it printed for a replay or a rebuild was at
least its own size (296 MB for both at 1M; a replay alone peaks at ~200 MB). The
benchmark starts this launcher first, while it is small, and runs its commands through
it: their peaks are their own (and their children's).

Protocol: one JSON array of arguments per line on stdin; for each, one JSON object on
stdout: seconds (wall), status (as `wait4` gives it), max_rss_bytes, stderr (its tail).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

STDERR_TAIL = 4_000


def run(arguments: list[str]) -> dict[str, Any]:
    """Start one command, wait for it, and say what it cost."""
    with tempfile.TemporaryFile() as stderr:  # a file: a chatty command cannot block on it
        started = time.perf_counter()
        process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        tail = stderr.read()[-STDERR_TAIL:].decode(errors="replace")
    return {
        "seconds": seconds,
        "status": status,
        "max_rss_bytes": usage.ru_maxrss * 1024,
        "stderr": tail,
    }


class Launcher:
    """The client side: commands run by a launcher process, started before the caller grows.

    Started from here, a command would report this process's size as its own peak
    memory (Linux keeps the high-water mark across `exec`).
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "replay.launcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, arguments: list[str]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(arguments).encode() + b"\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        if not answer:
            raise RuntimeError("the benchmark's launcher process ended unexpectedly")
        outcome: dict[str, Any] = json.loads(answer)
        return outcome

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait()


def main() -> None:
    for line in sys.stdin:
        sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
