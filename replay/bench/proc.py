"""What Linux's /proc says of a process: its children, name, CPU time and memory.

The benchmarks read other processes' figures here (a server's follower, a replay's
parser and projection), where `wait4` would only give a total once they have ended.
Elsewhere than Linux every figure reads as nothing (0, [] or "").
"""

from __future__ import annotations

import os
import resource
from pathlib import Path


def children(pid: int) -> list[int]:
    """The pids of a process's children."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    waiting = children(pid)
    while waiting:
        child = waiting.pop()
        found.append(child)
        waiting += children(child)
    return found


def name(pid: int) -> str:
    """The process's name (`comm`: what it set with replay/process_name.py)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (clock ticks of /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of /proc/PID/status (VmRSS, VmHWM, ...) in kB."""
    return memory_kb(pid, (field,))[0]


def memory_kb(pid: int, fields: tuple[str, ...] = ("VmRSS", "VmHWM")) -> list[int]:
    """Memory figures of /proc/PID/status in kB, in the order asked, from one read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return [0] * len(fields)
    found = dict.fromkeys(fields, 0)
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name in found:
            found[name] = int(value.split()[0])
    return [found[field] for field in fields]


def own_cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
