"""Events that did not come from the live stream: those backfilled from a Canvas Data 2 snapshot.

`mastery reconcile --backfill` appends what the log lacks as Canvas-shaped events whose
`metadata.producer` is `BACKFILL_PRODUCER`; their metadata also carries the snapshot's
time (`cd2_snapshot_at`) and when they were made (`backfilled_at`). This projection
lists their log positions, so that `mastery status` counts them apart and `mastery
gaps` leaves them out of delivery counts (they were not delivered late; they were
never delivered).

The table is created on first use, also in read models made before it existed: such a
file holds no backfilled event (backfill did not exist), so nothing needs a rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from projections.rows import StoredChange

BACKFILL_PRODUCER = "canvas-data-2-backfill"
TABLE = "backfilled_events"

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (position INTEGER PRIMARY KEY, root_account TEXT, "
    "canvas_event TEXT, canvas_id TEXT, event_time TEXT, recorded_at TEXT, snapshot_at TEXT)"
)


class ProvenanceProjector:
    name = "provenance"

    def __init__(self) -> None:
        self._ready: set[int] = set()

    def create_schema(self, db: sqlite_utils.Database) -> None:
        db.execute(_CREATE)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        rows = [
            (
                change.position,
                change.root_account,
                change.state["canvas_event"],
                change.canvas_id,
                change.event_time,
                change.recorded_at,
                change.state["metadata"].get("cd2_snapshot_at"),
            )
            for change in changes
            if change.state["metadata"].get("producer") == BACKFILL_PRODUCER
        ]
        if not rows:
            return
        if id(db.conn) not in self._ready:
            db.execute(_CREATE)
            self._ready.add(id(db.conn))
        db.conn.executemany(f"INSERT OR IGNORE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def has_table(db: sqlite_utils.Database) -> bool:
    return TABLE in db.table_names()
