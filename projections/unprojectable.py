"""Stored events the read models cannot hold: recorded, never a reason to stop.

The log is immutable. An event that an older parser let through (an integer past
64 bits, a value of the wrong type) would, if it raised, stop every projection of
the log, every later query and every rebuild. So each projector builds an event's
rows through `screen`, which answers the rows, each value checked against its
column, or why not; the reason goes to `unprojectable_events` (`mastery verify`
and `mastery status` show it) and the loop goes on. The judgement depends on the
event alone, so the event-by-event path and a rebuild hold back the same events.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from domain.limits import fits_int64
from projections.rows import StoredChange
from projections.schema import Tables

TABLE = "unprojectable_events"
TABLES: Tables = {TABLE: ({"position": int, "canvas_event": str, "reason": str}, ["position"])}

ROW_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)
"""What building a row of a malformed stored state raises (a programming error would
raise the same: its reason, in `mastery verify`, names the exception)."""

Rows = list[tuple[str, dict[str, Any]]]
"""(table, row) pairs: what one event adds to a projector's tables."""
ColumnKinds = dict[str, tuple[tuple[str, type], ...]]
"""Table -> its columns and their declared types, in order (from a `Tables`)."""


def column_kinds(tables: Tables) -> ColumnKinds:
    return {name: tuple(columns.items()) for name, (columns, _) in tables.items()}


@dataclass(frozen=True, slots=True)
class Unprojectable:
    position: int
    canvas_event: str | None
    reason: str


def screen(
    change: StoredChange, build: Callable[[StoredChange], Rows], kinds: ColumnKinds
) -> Rows | Unprojectable:
    """The rows `build` makes of the change, if every value fits its column."""
    try:
        rows = build(change)
    except ROW_ERRORS as error:
        return unprojectable(change.position, change.state, f"{type(error).__name__}: {error}")
    for table, row in rows:
        problem = column_problem(kinds[table], row)
        if problem is not None:
            return unprojectable(change.position, change.state, f"{table}.{problem}")
    return rows


def unprojectable(position: int, state: object, reason: str) -> Unprojectable:
    event = state.get("canvas_event") if isinstance(state, dict) else None
    return Unprojectable(position, event if isinstance(event, str) else None, reason[:500])


def column_problem(kinds: tuple[tuple[str, type], ...], row: dict[str, Any]) -> str | None:
    """Why a value of the row cannot be stored in its column as declared, or None.

    SQLite would store a string in a REAL column and fail later readers; an integer
    past 64 bits it refuses outright. NULL fits every column.
    """
    for column, kind in kinds:
        value = row.get(column)
        if value is None:
            continue
        found = type(value)
        if kind is str:
            if found is not str:
                return f"{column}: a {found.__name__} where text goes"
        elif kind is int:
            if found is not int:
                return f"{column}: a {found.__name__} where an integer goes"
            if not fits_int64(value):
                return f"{column}: {value} does not fit a 64-bit integer"
        elif found is float:
            if not math.isfinite(value):
                return f"{column}: {value} is not a finite number"
        elif found is int:
            if not fits_int64(value):
                return f"{column}: {value} does not fit a 64-bit integer"
        else:
            return f"{column}: a {found.__name__} where a number goes"
    return None


def unprojectable_events(connection: sqlite3.Connection) -> list[tuple[int, str | None, str]]:
    """(position, canvas_event, reason) of every event held back, in log order."""
    return connection.execute(
        f"SELECT position, canvas_event, reason FROM {TABLE} ORDER BY position"
    ).fetchall()


def record(db: sqlite_utils.Database, found: Iterable[Unprojectable]) -> None:
    db.conn.executemany(
        f"INSERT OR IGNORE INTO {TABLE} (position, canvas_event, reason) VALUES (?, ?, ?)",
        [(item.position, item.canvas_event, item.reason) for item in found],
    )
