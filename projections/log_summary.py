"""A summary of the log by Canvas event name: how many, and over which span of time.

The log's states are compressed, so the log itself cannot answer "how many
results, from when to when" with SQL; this small projection keeps the answer
(`mastery status` shows it), at the cost of one upsert per event name per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from projections.rows import StoredChange
from projections.schema import Tables, create_tables

TABLES: Tables = {
    "event_counts": (
        {"canvas_event": str, "events": int, "first_event_time": str, "last_event_time": str},
        ["canvas_event"],
    ),
}


class LogSummaryProjector:
    name = "log_summary"

    def create_schema(self, db: sqlite_utils.Database) -> None:
        create_tables(db, TABLES, [])

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        counts: dict[str, int] = {}
        first: dict[str, str] = {}
        last: dict[str, str] = {}
        for change in changes:
            name, moment = change.state["canvas_event"], change.event_time
            counts[name] = counts.get(name, 0) + 1
            first[name] = min(first.get(name, moment), moment)
            last[name] = max(last.get(name, moment), moment)
        db.conn.executemany(
            "INSERT INTO event_counts (canvas_event, events, first_event_time, last_event_time) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(canvas_event) DO UPDATE SET "
            "events = events + excluded.events, "
            "first_event_time = MIN(first_event_time, excluded.first_event_time), "
            "last_event_time = MAX(last_event_time, excluded.last_event_time)",
            [(name, counts[name], first[name], last[name]) for name in counts],
        )
