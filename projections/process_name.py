"""A process names itself, as `ps` and `top` show it (Linux's `comm`, 15 characters).

Every process of a replay, a rebuild or a server is `python` to the operating system;
each names itself so that an operator sees which is which, and the benchmark can give
each stage's CPU time (replay/bench/launcher.py). Elsewhere nothing happens. Here, not
in replay/, because the projections start helper processes too.
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def name_this_process(name: str) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_text(name[:15])
