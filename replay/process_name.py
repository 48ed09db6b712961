"""A name for each process of a replay or a server, as `ps` and `top` show it.

A replay runs three processes and `mastery serve` two, all `python` to the operating
system. Each names itself (Linux's `comm`, at most 15 characters) so that an operator
sees which is the parser, the projection or the follower, and the benchmark can give
each stage's CPU time (replay/bench/launcher.py). Elsewhere nothing happens.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

PARSER = "mastery-parse"
PROJECTION = "mastery-project"
LIVE_FOLLOWER = "mastery-follow"


def name_this_process(name: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])
