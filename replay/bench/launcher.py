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

CPU time per process: while the command runs, the launcher reads every descendant's
utime + stime from `/proc/PID/stat` every SAMPLE_SECONDS, keeping each one's last value
under the name the process gave itself (`replay/ingest/process_name.py`). The command's
own share is the exact total `wait4` reports for it and its waited-for children, minus
the children's: what a child spends after its last sample (at most SAMPLE_SECONDS of one
core) is counted to the command, so the shares always add up to the exact total.

Protocol: one JSON array of arguments per line on stdin; for each, one JSON object on
stdout: seconds (wall), status (as `wait4` gives it; -1 if it could not start),
max_rss_bytes, cpu_seconds ({"total", "main", and one entry per child's name}), stderr
(its tail).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import Any

STDERR_TAIL = 4_000
SAMPLE_SECONDS = 0.1
"""A full scan of /proc takes ~1 ms here: 1% of a core at this rate."""
MAIN = "main"
TOTAL = "total"


def run(arguments: list[str]) -> dict[str, Any]:
    """Start one command, wait for it, and say what it cost."""
    with tempfile.TemporaryFile() as stderr:  # a file: a chatty command cannot block on it
        started = time.perf_counter()
        process = subprocess.Popen(
            arguments, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
        status, usage, children = _wait_sampling(process.pid)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        seconds = time.perf_counter() - started
        # Only the tail is read: reading a large stderr whole would raise this process's
        # own high-water mark, and with it every later command's reported peak.
        size = stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, size - STDERR_TAIL))
        tail = stderr.read().decode(errors="replace")
    return {
        "seconds": seconds,
        "status": status,
        "max_rss_bytes": usage.ru_maxrss * 1024,
        "cpu_seconds": cpu_by_name(usage.ru_utime + usage.ru_stime, children),
        "stderr": tail,
    }


def _wait_sampling(pid: int) -> tuple[int, resource.struct_rusage, dict[int, tuple[str, float]]]:
    """Wait for `pid`, sampling its descendants' CPU until it ends."""
    children: dict[int, tuple[str, float]] = {}
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, children
        children.update(descendants(pid))
        time.sleep(SAMPLE_SECONDS)


def descendants(root: int) -> dict[int, tuple[str, float]]:
    """Each descendant of `root` now: its name and CPU seconds (utime + stime)."""
    table = _process_table()
    parents: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        parents.setdefault(parent, []).append(pid)
    found: dict[int, tuple[str, float]] = {}
    pending = list(parents.get(root, []))
    while pending:
        pid = pending.pop()
        _, name, seconds = table[pid]
        found[pid] = (name, seconds)
        pending.extend(parents.get(pid, []))
    return found


def _process_table() -> dict[int, tuple[int, str, float]]:
    """Every process: parent pid, name, CPU seconds. Empty where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    table: dict[int, tuple[int, str, float]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                line = stat.read().decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        # The name is in parentheses and may hold spaces and parentheses itself.
        name = line[line.index("(") + 1 : line.rindex(")")]
        fields = line[line.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / ticks)
    return table


def cpu_by_name(total: float, children: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds by process name; the command's own is what its children did not use."""
    shares: dict[str, float] = {}
    for name, seconds in children.values():
        shares[name] = shares.get(name, 0.0) + seconds
    shares[MAIN] = max(0.0, total - sum(shares.values()))
    shares[TOTAL] = total
    return {name: round(seconds, 3) for name, seconds in shares.items()}


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
                "cpu_seconds": {},
                "stderr": repr(error),
            }
        sys.stdout.write(json.dumps(outcome) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
