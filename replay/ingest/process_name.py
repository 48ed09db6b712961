"""The operating system's name of a helper process of a replay.

A replay runs up to three processes forked from one command line, so `ps`, `top` and
the benchmark (which reports CPU per stage) could not tell the parser from the follower
by their command lines. Each helper names itself; where the system has no
`/proc/self/comm` (not Linux) it keeps the name it was given, which is harmless.
"""

from __future__ import annotations

COMM_LIMIT = 15
"""Linux keeps the first 15 bytes of a name."""


def name_this_process(name: str) -> None:
    """Give this process `name` (at most 15 characters) as the system shows it."""
    try:
        with open("/proc/self/comm", "w", encoding="ascii") as comm:
            comm.write(name[:COMM_LIMIT])
    except OSError:
        pass
