"""Projecting while appending: the read models follow the log in a second process.

Appending and projecting take comparable time, and one after the other they would
add up. The catch-up loop needs nothing from the appender but the committed log (it
reads notifications and tracks its own position), so it runs beside it and the two
overlap. The appender stays the only writer of the log and the follower the only
writer of the read models, so exactly-once holds as it does for one process; when
the replay ends, the follower catches up one last time and the replay checks it is
level.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import os
import time
from typing import Any

from projections.bulk_load import bulk_loading
from projections.catchup import catch_up, open_read_models
from replay.process_name import PROJECTION, name_this_process
from replay.store.location import Store

POLL_SECONDS = 0.2
FINISH_EVERY_SECONDS = 60.0
"""Rollups are recomputed when the replay ends, and in between at most this often:
a student's results are spread over the whole dump, so recomputing whenever the
follower is level would redo each rollup once per result. A question asked meanwhile
finishes the pending rollups itself."""


class BackgroundProjection:
    """A follower process for the length of one replay (use as a context manager)."""

    def __init__(self, store: Store) -> None:
        context = multiprocessing.get_context("fork")
        self._stop = context.Event()
        # Not a daemon: a daemon may not start processes, and the end of a bulk load
        # starts a helper (projections/bulk_rollups.py). It is joined on every way out
        # of the replay, and ends by itself if the replay is killed (it watches its parent).
        self._process = context.Process(
            target=_follow, args=(store, self._stop), name=PROJECTION, daemon=False
        )

    def __enter__(self) -> BackgroundProjection:
        self._process.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stop.set()
        self._process.join()
        if self._process.exitcode != 0 and exc_info[0] is None:
            raise RuntimeError(
                f"the projection process failed (exit code {self._process.exitcode}); "
                "the log is complete: run `mastery rebuild` to make the read models again"
            )


def _follow(store: Store, stop: multiprocessing.synchronize.Event) -> None:
    name_this_process(PROJECTION)
    parent = os.getppid()
    log = store.open_log()
    db = open_read_models(store.read_models_path)
    try:
        last_finish = time.monotonic()
        while True:
            stopping = stop.is_set()  # read before the pass: the last pass sees everything
            # A bulk load (a new store) ends once, when the replay does.
            due = stopping or (
                time.monotonic() - last_finish >= FINISH_EVERY_SECONDS and not bulk_loading(db)
            )
            catch_up(log, db, finish_when_level=due)
            if due:
                last_finish = time.monotonic()
            if stopping or os.getppid() != parent:  # done, or the replay was killed
                return
            stop.wait(POLL_SECONDS)
    except KeyboardInterrupt:
        return
    finally:
        db.close()
        log.close()
