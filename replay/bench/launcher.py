"""Run commands and report their peak memory truthfully, from a small process.

Linux keeps a process's memory high-water mark across `exec`: a command forked from a
process that holds 300 MB reports at least 300 MB as its own peak (`wait4`'s
`ru_maxrss`), whatever it used itself. The benchmark holds the memory of its floor and
of DuckDB, more than a replay's largest process uses, so a command forked from it would
report the benchmark's size, not its own. So the benchmark runs its commands through
this launcher, a freshly started small process: a command forked from it inherits its
small high-water mark, not the benchmark's.

The peak reported is that of the command's largest process (`wait4` gives the maximum
over a process and its waited-for children, not their sum): a replay runs three.

Protocol: one JSON array of arguments per line on stdin; for each, one JSON object on
stdout: seconds (wall), status (as `wait4` gives it; -1 if it could not start),
max_rss_bytes, max_rss_sum_bytes (the largest sum of the resident memory of the command's
processes, sampled: shared pages count in each), peak_rss_mb_by_process (each descendant's
own high-water mark, by name, as last seen), cpu_seconds (user + system, the command
and its waited-for children),
cpu_by_process (that CPU time by process name: what each child named itself, see
replay/process_name.py, and "main" for the rest), stderr (its tail).

A child's CPU time is read from /proc every `CPU_SAMPLE_SECONDS` while it runs (its
parent reaps it, not us): the last slice before it ends is missed, and counted as the
main process's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import Any

STDERR_TAIL = 4_000
CPU_SAMPLE_SECONDS = 0.1


class _ChildrenCpu:
    """The CPU time of each descendant of a process, by name, and the largest sum of the
    whole tree's resident memory, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        from replay.bench import proc

        self._proc = proc
        self.pid = pid
        self._last: dict[int, tuple[str, float]] = {}
        self.max_rss_sum_kb = 0
        self.peak_kb_by_name: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(CPU_SAMPLE_SECONDS):
            rss_sum = self._note_memory("main", self.pid)
            for child in self._proc.descendants(self.pid):
                name, seconds = self._proc.name(child), self._proc.cpu_seconds(child)
                if name and seconds >= self._last.get(child, ("", 0.0))[1]:
                    self._last[child] = (name, seconds)
                rss_sum += self._note_memory(name, child)
            self.max_rss_sum_kb = max(self.max_rss_sum_kb, rss_sum)

    def _note_memory(self, name: str, pid: int) -> int:
        """Keep a process's own high-water mark (not a sample) by name; its RSS now."""
        rss, peak = self._proc.memory_kb(pid)
        if name:
            self.peak_kb_by_name[name] = max(self.peak_kb_by_name.get(name, 0), peak)
        return rss

    def by_name(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        totals: dict[str, float] = {}
        for name, seconds in self._last.values():
            totals[name] = totals.get(name, 0.0) + seconds
        return totals


def run(arguments: list[str]) -> dict[str, Any]:
    """Start one command, wait for it, and say what it cost."""
    with tempfile.TemporaryFile() as stderr:  # a file: a chatty command cannot block on it
        started = time.perf_counter()
        process = subprocess.Popen(
            arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        children = _ChildrenCpu(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.perf_counter() - started
        # Only the tail is read: reading a large stderr whole would raise this process's
        # own high-water mark, and with it every later command's reported peak.
        size = stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, size - STDERR_TAIL))
        tail = stderr.read().decode(errors="replace")
    cpu_seconds = usage.ru_utime + usage.ru_stime
    by_name = children.by_name()
    by_name["main"] = max(cpu_seconds - sum(by_name.values()), 0.0)
    return {
        "seconds": seconds,
        "status": status,
        "max_rss_bytes": usage.ru_maxrss * 1024,
        "max_rss_sum_bytes": children.max_rss_sum_kb * 1024,
        "peak_rss_mb_by_process": {name: kb >> 10 for name, kb in children.peak_kb_by_name.items()},
        "cpu_seconds": cpu_seconds,
        "cpu_by_process": {name: round(seconds, 2) for name, seconds in by_name.items()},
        "stderr": tail,
    }


class Launcher:
    """The client side: a launcher process, and the commands it runs for the caller."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "replay.bench.launcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def __enter__(self) -> Launcher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, arguments: list[str]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps(arguments).encode() + b"\n")
            self._process.stdin.flush()
            answer = self._process.stdout.readline()
        except OSError as error:  # BrokenPipeError: the launcher is gone
            raise RuntimeError(f"the benchmark's launcher process is gone ({error})") from None
        if not answer:
            raise RuntimeError("the benchmark's launcher process ended unexpectedly")
        outcome: dict[str, Any] = json.loads(answer)
        return outcome

    def close(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main() -> None:
    for line in sys.stdin:
        try:
            outcome = run(json.loads(line))
        except Exception as error:  # a command that cannot start, a line that is not JSON
            outcome = {
                "seconds": 0.0,
                "status": -1,
                "max_rss_bytes": 0,
                "cpu_seconds": 0.0,
                "cpu_by_process": {},
                "stderr": repr(error),
            }
        sys.stdout.write(json.dumps(outcome) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
