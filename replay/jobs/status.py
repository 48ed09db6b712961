"""What a store holds, read straight from its files without replaying anything.

A PostgreSQL log's totals are read with PostgreSQL's SQL; its quarantine and read
models are the local ones (each machine keeps its own).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from projections.unprojectable import TABLE, unprojectable_events
from replay.store.location import Store
from replay.store.quarantine import Quarantine


@dataclass
class StoreStatus:
    store: str
    events: int = 0
    last_position: int = 0
    aggregates: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    first_event_time: str | None = None
    last_event_time: str | None = None
    projected_position: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    unprojectable_events: int = 0
    # events backfilled from a Canvas Data 2 snapshot (in `events_by_type` too)
    backfilled_by_type: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def store_status(store: Store) -> StoreStatus:
    status = StoreStatus(store=store.location)
    totals = store.log_totals()
    if totals is not None:
        status.events, status.last_position, status.aggregates = totals
    if store.read_models_path.exists():
        _read_summary(store, status)
    if store.quarantine_path.exists():
        quarantine = Quarantine(store.quarantine_path)
        status.quarantined = quarantine.count()
        status.quarantined_by_reason = quarantine.counts_by_reason()
        quarantine.close()
    return status


def _read_summary(store: Store, status: StoreStatus) -> None:
    """Events by type and their time span, from the read models (the log's states
    are compressed); as of the read models' position, which `projected_position` says."""
    connection = sqlite3.connect(f"file:{store.read_models_path}?mode=ro", uri=True)
    try:
        if not _has_table(connection, "event_counts"):
            return
        rows = connection.execute(
            "SELECT canvas_event, events, first_event_time, last_event_time FROM event_counts "
            "ORDER BY canvas_event"
        ).fetchall()
        tracked = connection.execute("SELECT MAX(position) FROM tracking").fetchone()
        if _has_table(connection, TABLE):
            status.unprojectable_events = len(unprojectable_events(connection))
        if _has_table(connection, "backfilled_events"):
            status.backfilled_by_type = dict(
                connection.execute(
                    "SELECT canvas_event, COUNT(*) FROM backfilled_events GROUP BY 1 ORDER BY 1"
                ).fetchall()
            )
    except sqlite3.DatabaseError:
        return  # a damaged read model: status still reports the log; rebuild fixes it
    finally:
        connection.close()
    status.projected_position = int(tracked[0] or 0) if tracked else 0
    status.events_by_type = {name: int(count) for name, count, _, _ in rows}
    if rows:
        status.first_event_time = _millis(min(row[2] for row in rows))
        status.last_event_time = _millis(max(row[3] for row in rows))


def _millis(time_text: str) -> str:
    """`2025-01-06T08:00:00.123456Z` -> `2025-01-06T08:00:00.123Z`."""
    return time_text[:23] + "Z"


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
    ).fetchone()
    return row is not None
