"""Commands of a benchmark run as whole processes, through one launcher (see
replay/bench/launcher.py: so that each reports its own peak memory)."""

from __future__ import annotations

import sys

from replay.bench.launcher import Launcher

_launcher: Launcher | None = None


def run_process(arguments: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one whole `python -m replay` process."""
    start_launcher()
    assert _launcher is not None
    outcome = _launcher.run([sys.executable, "-m", "replay", *arguments])
    if outcome["status"] != 0:
        raise RuntimeError(f"python -m replay {' '.join(arguments)} failed: {outcome['stderr']}")
    return outcome["seconds"], outcome["max_rss_bytes"]


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
