"""What a store holds, read straight from its files without replaying anything."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from replay.quarantine import Quarantine
from replay.store import Store


@dataclass
class StoreStatus:
    store: str
    events: int = 0
    last_position: int = 0
    aggregates: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    first_event_time: str | None = None
    last_event_time: str | None = None
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def store_status(store: Store) -> StoreStatus:
    status = StoreStatus(store=str(store.root))
    if store.log_path.exists():
        connection = sqlite3.connect(f"file:{store.log_path}?mode=ro", uri=True)
        try:
            if _has_table(connection, "stored_events"):
                _read_log(connection, status)
        finally:
            connection.close()
    if store.quarantine_path.exists():
        quarantine = Quarantine(store.quarantine_path)
        status.quarantined = quarantine.count()
        status.quarantined_by_reason = quarantine.counts_by_reason()
        quarantine.close()
    return status


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
    ).fetchone()
    return row is not None


def _read_log(connection: sqlite3.Connection, status: StoreStatus) -> None:
    events, last, aggregates = connection.execute(
        "SELECT COUNT(*), COALESCE(MAX(rowid), 0), COUNT(DISTINCT originator_id) FROM stored_events"
    ).fetchone()
    status.events, status.last_position, status.aggregates = events, last, aggregates
    rows = connection.execute(
        "SELECT json_extract(CAST(state AS TEXT), '$.canvas_event') AS name, COUNT(*), "
        "MIN(julianday(json_extract(CAST(state AS TEXT), '$.timestamp'))), "
        "MAX(julianday(json_extract(CAST(state AS TEXT), '$.timestamp'))) "
        "FROM stored_events GROUP BY name ORDER BY name"
    ).fetchall()
    status.events_by_type = {name: count for name, count, _, _ in rows}
    firsts = [first for _, _, first, _ in rows if first is not None]
    lasts = [latest for _, _, _, latest in rows if latest is not None]
    if firsts:
        status.first_event_time = _from_julian(connection, min(firsts))
        status.last_event_time = _from_julian(connection, max(lasts))


def _from_julian(connection: sqlite3.Connection, day: float) -> str:
    (text,) = connection.execute("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?)", (day,)).fetchone()
    return str(text)
