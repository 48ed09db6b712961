"""Commands of a benchmark run as whole processes, through one launcher (see
replay/bench/launcher.py: so that each reports its own peak memory)."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from replay.bench.launcher import Launcher


@dataclass(frozen=True)
class Measured:
    """What one command cost: wall seconds, peak RSS of its largest process (bytes), and
    CPU seconds by process name (see replay/bench/launcher.py)."""

    seconds: float
    peak_rss_bytes: int
    cpu_seconds: dict[str, float]


_launcher: Launcher | None = None


def run_process(arguments: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one whole `python -m replay` process."""
    measured = measure_process(arguments)
    return measured.seconds, measured.peak_rss_bytes


def measure_process(arguments: list[str]) -> Measured:
    """What one whole `python -m replay` process and its helpers cost."""
    start_launcher()
    assert _launcher is not None
    outcome = _launcher.run([sys.executable, "-m", "replay", *arguments])
    if outcome["status"] != 0:
        raise RuntimeError(f"python -m replay {' '.join(arguments)} failed: {outcome['stderr']}")
    return Measured(outcome["seconds"], outcome["max_rss_bytes"], outcome["cpu_seconds"])


def start_launcher() -> None:
    """Start the launcher (see replay/bench/launcher.py) once, for every command of a run."""
    global _launcher
    if _launcher is None:
        _launcher = Launcher()


def stop_launcher() -> None:
    global _launcher
    if _launcher is not None:
        _launcher.close()
        _launcher = None
