"""What a store holds, read straight from its files without replaying anything.

A PostgreSQL log is read with the same questions in PostgreSQL's SQL; its
quarantine is the local one (each ingesting machine keeps its own).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from replay.quarantine import Quarantine
from replay.store import Store

if TYPE_CHECKING:
    from replay.pgstore import PostgresLocation


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
    status = StoreStatus(store=store.location)
    if store.postgres is not None:
        _read_postgres_log(store.postgres, status)
    elif store.log_path.exists():
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


def _read_postgres_log(location: PostgresLocation, status: StoreStatus) -> None:
    from psycopg import sql

    from replay.pgstore import EVENTS_TABLE

    table = location.table(EVENTS_TABLE)
    with location.connect() as conn:
        exists = conn.execute("SELECT to_regclass(%s)", [table.as_string(conn)]).fetchone()
        if exists is None or exists[0] is None:
            return
        totals = conn.execute(
            sql.SQL(
                "SELECT COUNT(*), COALESCE(MAX(notification_id), 0), "
                "COUNT(DISTINCT originator_id) FROM {}"
            ).format(table)
        ).fetchone()
        assert totals is not None
        status.events, status.last_position, status.aggregates = map(int, totals)
        rows = conn.execute(
            sql.SQL(
                "SELECT doc ->> 'canvas_event' AS name, COUNT(*), "
                "MIN((doc ->> 'timestamp')::timestamptz), MAX((doc ->> 'timestamp')::timestamptz) "
                "FROM (SELECT convert_from(state, 'UTF8')::json AS doc FROM {}) AS events "
                "GROUP BY name"
            ).format(table)
        ).fetchall()
    rows.sort(key=lambda row: str(row[0]))  # byte order, as SQLite sorts, whatever the collation
    status.events_by_type = {str(name): int(count) for name, count, _, _ in rows}
    firsts = [first for _, _, first, _ in rows if isinstance(first, datetime)]
    lasts = [latest for _, _, _, latest in rows if isinstance(latest, datetime)]
    if firsts:
        status.first_event_time = _iso_millis(min(firsts))
        status.last_event_time = _iso_millis(max(lasts))


def _iso_millis(moment: datetime) -> str:
    """Like the SQLite variant's strftime('%Y-%m-%dT%H:%M:%fZ')."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
