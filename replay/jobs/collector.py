"""The cyclic garbage collector, tuned for the long batch loops of a replay or rebuild.

Those loops make millions of short-lived dicts and tuples, which reference counting
frees as soon as their batch is done; none of them is part of a reference cycle. With
Python's default thresholds the cyclic collector still scans the young ones every 700
allocations and, every few thousand, every object alive: the aggregate cache, the
settings caches, the program itself: a large share of a replay's or a rebuild's time,
for nothing (the README's Performance section has the figures). Inside
`batch_collection()` it runs about a hundred times less often, and
what existed before the loop is frozen out of its scans. Cycles, should any appear,
are still collected, only later (among objects frozen at the start: after the loop).
Meant for the main thread of a command-line process; it does not guard against two
threads entering at once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000
"""Net new container objects between two collections of the youngest generation."""
OLDER_THRESHOLD = 50
"""Collections of a generation between two of the next (the default is 10)."""

_depth = 0


@contextmanager
def batch_collection() -> Iterator[None]:
    """Collect rarely inside; the interpreter's own settings are back on the way out.

    Processes forked inside (the parsing worker, the follower) inherit the settings.
    """
    global _depth
    if _depth:  # already inside: the outer block restores
        yield
        return
    thresholds = gc.get_threshold()
    # A host program may have frozen objects itself (a pre-fork server does): then
    # they stay frozen, and nothing is frozen or unfrozen here.
    freezing = gc.get_freeze_count() == 0
    _depth += 1
    if freezing:
        gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, OLDER_THRESHOLD, OLDER_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if freezing:
            gc.unfreeze()
        _depth -= 1
