"""The read-model database: its tables, keys and indexes, in one place.

Version tables are keyed by the log position of the event that made the version
(one row per event, small keys, appends at the end of the B-tree); their other
indexes lead with what questions name (student, outcome, course).

Every table is derived from the log and can be dropped: `mastery rebuild` recreates
the file from scratch. Times are ISO 8601 UTC text with microseconds
(`2025-03-01T10:00:00.000000Z`), so text order is time order. `valid_order` sorts
the versions of one entity the way the domain's timeline does: event time, a
create before an update, then the delivery fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

READ_MODEL_FORMAT = 13

_VERSION_COLUMNS: dict[str, Any] = {
    "position": int,
    "root_account": str,
    "valid_order": str,
    "event_time": str,
    "recorded_at": str,
    "canvas_event": str,
    "workflow_state": str,
}

Tables = dict[str, tuple[dict[str, Any], list[str]]]
"""Table name -> (columns and their types, primary key columns)."""
Indexes = list[tuple[str, list[str]]]

ROLLUP_PRIMARY_KEY = ("user_uuid", "outcome_id", "context_id", "context_type", "root_account")
"""A rollup key's columns (`projections.rollups.ROLLUP_KEY_COLUMNS`) as the primary keys
of `rollups` and `rollups_pending` order them: what questions name first (student,
outcome, course), so that the key's own index answers them."""

TABLES: Tables = {
    "result_versions": (
        {
            **_VERSION_COLUMNS,
            "result_id": str,
            "user_uuid": str,
            "outcome_id": str,
            "context_type": str,
            "context_id": str,
            "score": float,
            "percent": float,
            "possible": float,
            "attempt": int,
            "assessed_at": str,
            "artifact_type": str,
            "associated_asset_type": str,
            "associated_asset_id": str,
            "legacy": int,
            "mastery": int,
        },
        ["position"],
    ),
    "outcome_versions": (
        {
            **_VERSION_COLUMNS,
            "outcome_id": str,
            "context_type": str,
            "context_id": str,
            "title": str,
            "display_name": str,
            "calculation_method": str,
            "calculation_int": int,
            "points_possible": float,
            "mastery_points": float,
            "ratings": str,
        },
        ["position"],
    ),
    "mastery_scale_versions": (
        {
            **_VERSION_COLUMNS,
            "proficiency_id": str,
            "context_type": str,
            "context_id": str,
            "ratings": str,
        },
        ["position"],
    ),
    "calculation_method_versions": (
        {
            **_VERSION_COLUMNS,
            "calculation_method_id": str,
            "context_type": str,
            "context_id": str,
            "calculation_method": str,
            "calculation_int": int,
        },
        ["position"],
    ),
    "context_accounts": (
        {
            "root_account": str,
            "context_type": str,
            "context_id": str,
            "account_id": str,
            "event_time": str,
        },
        ["root_account", "context_type", "context_id"],
    ),
    "rollups": (
        {
            "root_account": str,
            "user_uuid": str,
            "outcome_id": str,
            "context_type": str,
            "context_id": str,
            "score": float,
            "count": int,
            "mastery": int,
            "rating_description": str,
            "rating_points": float,
            "rating_color": str,
            "calculation_method": str,
            "calculation_int": int,
            "latest_assessed_at": str,
        },
        list(ROLLUP_PRIMARY_KEY),
    ),
    "moved_results": (
        {"root_account": str, "result_id": str},
        ["root_account", "result_id"],
    ),
    "rollups_pending": (
        {
            "root_account": str,
            "user_uuid": str,
            "outcome_id": str,
            "context_type": str,
            "context_id": str,
            "caused_by_position": int,
            "caused_by_event": str,
            "recorded_at": str,
        },
        list(ROLLUP_PRIMARY_KEY),
    ),
    "rollup_changes": (
        {
            "sequence": int,
            "root_account": str,
            "user_uuid": str,
            "outcome_id": str,
            "context_type": str,
            "context_id": str,
            "old_score": float,
            "new_score": float,
            "old_rating": str,
            "new_rating": str,
            "new_rating_points": float,
            "new_rating_color": str,
            "new_mastery": int,
            "new_count": int,
            "caused_by_position": int,
            "caused_by_event": str,
            "recorded_at": str,
        },
        ["sequence"],
    ),
}

BOOKKEEPING_TABLES: Tables = {
    "tracking": ({"name": str, "position": int}, ["name"]),
    "meta": ({"key": str, "value": str}, ["key"]),
}

RESULT_VERSION_INDEXES: Indexes = [
    # Questions name a student, an outcome or a course, rarely a root account: indexes
    # lead with what is asked. A result's key columns are never null for a rollup.
    ("result_versions", ["user_uuid", "outcome_id", "context_id"]),
    ("result_versions", ["context_id", "outcome_id"]),
    ("result_versions", ["result_id", "root_account"]),
]
"""Made after the versions when a fresh read model is loaded in bulk (projections/bulk_load.py)."""

INDEXES: Indexes = [
    ("outcome_versions", ["outcome_id", "valid_order"]),
    ("mastery_scale_versions", ["root_account", "context_type", "context_id"]),
    ("calculation_method_versions", ["root_account", "context_type", "context_id"]),
    ("rollups", ["context_id", "outcome_id"]),
    ("rollups", ["outcome_id"]),
]


def create_tables(db: sqlite_utils.Database, tables: Tables, indexes: Indexes) -> None:
    """Create whatever is missing; existing tables are left as they are."""
    existing = set(db.table_names())
    for name, (columns, pk) in tables.items():
        if name not in existing:
            db.table(name).create(columns, pk=tuple(pk) if len(pk) > 1 else pk[0])
    for table, indexed in indexes:
        db.table(table).create_index(indexed, if_not_exists=True)


def create_bookkeeping(db: sqlite_utils.Database) -> None:
    create_tables(db, BOOKKEEPING_TABLES, [])
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('format', ?)", [str(READ_MODEL_FORMAT)]
    )
    db.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('feed_epoch', lower(hex(randomblob(8))))"
    )


def other_format_problem(path: object, found: int) -> str:
    """What to say of read models in a format other than `READ_MODEL_FORMAT`: every
    table derives from the log, so the way out is always a rebuild."""
    return (
        f"{path} is in read-model format {found}, this program writes "
        f"{READ_MODEL_FORMAT}: run `mastery rebuild`"
    )


def read_model_format(db: sqlite_utils.Database) -> int | None:
    if "meta" not in db.table_names():
        return None
    row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    return int(row[0]) if row else None


def insert_rows(
    db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]], *, replace: bool = False
) -> None:
    """Insert many rows with one statement (the columns of the first row).

    Named parameters: sqlite3 reads each value from the dicts in C.
    """
    if not rows:
        return
    columns = list(rows[0])
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    db.conn.executemany(
        f"{verb} INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + column for column in columns)})",
        rows,
    )


def upsert_rows(
    db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]], key: Sequence[str]
) -> None:
    """Insert or update in place (unlike REPLACE, which deletes and reinserts)."""
    if not rows:
        return
    columns = list(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    db.conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + column for column in columns)}) "
        f"ON CONFLICT({', '.join(key)}) DO UPDATE SET {updates}",
        rows,
    )
