"""Redeliveries the ingest skipped, counted by recording hour, event name and root account.

A duplicate never reaches the log (that is the point of recognising it), so neither the
log nor the read models can say afterwards when duplicates came: this small append-only
table, kept in the store's `quarantine.sqlite` beside the lines that could not be used,
does. It is written in the same transaction as the batch's quarantined lines, after the
batch is in the log; it is not rebuildable (`mastery rebuild` keeps it, as it keeps the
quarantine). A replay of a dump already stored counts its every event here, as the
replay's own summary does ("duplicates skipped").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TABLE = "duplicate_counts"

_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "recorded_hour TEXT NOT NULL, canvas_event TEXT NOT NULL, root_account TEXT NOT NULL, "
    "duplicates INTEGER NOT NULL, "
    "PRIMARY KEY (recorded_hour, canvas_event, root_account))"
)


def ensure_table(connection: sqlite3.Connection) -> None:
    connection.execute(_CREATE)


def rows_for(
    recorded_at: datetime, counts: Mapping[tuple[str, str], int]
) -> list[tuple[str, str, str, int]]:
    """(hour, event name, root account, count) for one batch's duplicates."""
    hour = recorded_at.astimezone(UTC).strftime("%Y-%m-%dT%H")
    return [(hour, name, root, count) for (name, root), count in counts.items() if count]


def add_rows(connection: sqlite3.Connection, rows: list[tuple[str, str, str, int]]) -> None:
    connection.executemany(
        f"INSERT INTO {TABLE} (recorded_hour, canvas_event, root_account, duplicates) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (recorded_hour, canvas_event, root_account) "
        "DO UPDATE SET duplicates = duplicates + excluded.duplicates",
        rows,
    )


def read_counts(path: Path, root_account: str | None = None) -> Iterator[dict[str, Any]]:
    """Every count, by recording hour (a store without the table has none)."""
    if not path.exists():
        return
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        where, params = ("WHERE root_account = ?", [root_account]) if root_account else ("", [])
        try:
            rows = connection.execute(
                f"SELECT recorded_hour, canvas_event, root_account, duplicates FROM {TABLE} "
                f"{where} ORDER BY recorded_hour",
                params,
            ).fetchall()
        except sqlite3.OperationalError:  # a store made before the table existed
            return
    finally:
        connection.close()
    for hour, name, root, count in rows:
        yield {"recorded_hour": hour, "canvas_event": name, "root_account": root, "count": count}


def read_quarantine_times(path: Path) -> list[str]:
    """`quarantined_at` of every quarantined line (ISO 8601, seconds)."""
    if not path.exists():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in connection.execute("SELECT quarantined_at FROM quarantine")]
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()
