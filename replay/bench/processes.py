"""Commands of a benchmark run as whole processes, through one launcher (see
replay/bench/launcher.py: so that each reports its own peak memory)."""

from __future__ import annotations

import os
import sys
from typing import Any

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


def run_measured(arguments: list[str], *, exit_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Wall and CPU seconds (user + system) and peak RSS (bytes) of one whole `python -m
    replay` process, which may end with any of `exit_codes` (reconcile's 1 is a finding)."""
    start_launcher()
    assert _launcher is not None
    outcome = _launcher.run([sys.executable, "-m", "replay", *arguments])
    status = outcome["status"]
    code = os.waitstatus_to_exitcode(status) if status >= 0 else status
    if code not in exit_codes:
        raise RuntimeError(f"python -m replay {' '.join(arguments)} failed: {outcome['stderr']}")
    return outcome


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
