"""Every SQL statement this program runs on the log's table, SQLite and PostgreSQL.

eventsourcing owns the table: it creates it, and its recorders insert and select
notifications. The statements here are the reads the library has no call for (the
events of many aggregates in one query, counts) or makes too slowly (a catch-up
batch), and the PostgreSQL insert of our recorder. Keeping them in one module keeps
the table's layout in one place.

Neither eventsourcing nor psycopg is imported at module level: `sqlite_file_head`
answers "is the read side level?" for a question, without loading either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from eventsourcing.sqlite import SQLiteApplicationRecorder
    from psycopg import sql

SQLITE_EVENTS_TABLE = "stored_events"  # eventsourcing.sqlite's default table name
_SQLITE_IDS_PER_QUERY = 500
_POSTGRES_IDS_PER_QUERY = 5_000

LogRow = tuple[int, str, bytes]
"""position, topic, state: what the projections read (projections.log_port)."""
EventRow = tuple[UUID, int, str, bytes]
"""originator id, version, topic, state: a stored event as it is in the table."""
Totals = tuple[int, int, int]
"""How many events, the last position, how many aggregates."""


# --- SQLite, through the recorder's own connection -------------------------------------


def sqlite_rows_after(
    recorder: SQLiteApplicationRecorder, position: int, limit: int
) -> list[LogRow]:
    """The next rows after `position`, as plain tuples.

    The library's `select_notifications` makes a UUID and a Notification of each
    row, a tenth of a rebuild's time, for an id the projections never use.
    """
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT rowid, topic, state FROM {recorder.events_table_name} "
            "WHERE rowid > ? ORDER BY rowid LIMIT ?",
            [position, limit],
        )
        return [(int(row[0]), row[1], row[2]) for row in cursor.fetchall()]


def sqlite_events_of(recorder: SQLiteApplicationRecorder, ids: Sequence[UUID]) -> list[EventRow]:
    """Every stored event of these aggregates, by aggregate and version (ids are hex)."""
    table = recorder.events_table_name
    rows: list[EventRow] = []
    with recorder.datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), _SQLITE_IDS_PER_QUERY):
            chunk = [aggregate.hex for aggregate in ids[start : start + _SQLITE_IDS_PER_QUERY]]
            marks = ",".join("?" * len(chunk))
            cursor.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {table} "
                f"WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version",
                chunk,
            )
            rows += [
                (UUID(originator_id), int(version), topic, bytes(state))
                for originator_id, version, topic, state in cursor.fetchall()
            ]
    return rows


def sqlite_count(recorder: SQLiteApplicationRecorder) -> int:
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {recorder.events_table_name}")
        return int(cursor.fetchone()[0])


# --- a SQLite log file, read-only, without eventsourcing --------------------------------


def sqlite_file_head(path: Path) -> int:
    """The last position of the log in this file (0 without a file or a table)."""
    if not path.exists():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute(f"SELECT MAX(rowid) FROM {SQLITE_EVENTS_TABLE}").fetchone()
    except sqlite3.OperationalError:  # no table yet: an empty log
        return 0
    finally:
        connection.close()
    return int(row[0] or 0)


def sqlite_file_totals(path: Path) -> Totals | None:
    """The totals of the log in this file, or None without a file or a table."""
    if not path.exists():
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        exists = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", [SQLITE_EVENTS_TABLE]
        ).fetchone()
        if exists is None:
            return None
        events, last, aggregates = connection.execute(
            "SELECT COUNT(*), COALESCE(MAX(rowid), 0), COUNT(DISTINCT originator_id) "
            f"FROM {SQLITE_EVENTS_TABLE}"
        ).fetchone()
    finally:
        connection.close()
    return int(events), int(last), int(aggregates)


# --- PostgreSQL, through the recorder's pool (rows come as dicts) ------------------------


def _postgres_table(recorder: Any) -> sql.Identifier:
    from psycopg.sql import Identifier

    return Identifier(recorder.datastore.schema, recorder.events_table_name)


def postgres_events_of(recorder: Any, ids: Sequence[UUID]) -> list[EventRow]:
    """Every stored event of these aggregates, by aggregate and version.

    One `= ANY(array)` query per 5,000 ids. Not retried here: the caller retries.
    """
    from psycopg.sql import SQL

    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
    ).format(_postgres_table(recorder))
    rows: list[EventRow] = []
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        for start in range(0, len(ids), _POSTGRES_IDS_PER_QUERY):
            cursor.execute(statement, [list(ids[start : start + _POSTGRES_IDS_PER_QUERY])])
            rows += [
                (
                    row["originator_id"],
                    row["originator_version"],
                    row["topic"],
                    bytes(row["state"]),
                )
                for row in cursor.fetchall()
            ]
    return rows


def postgres_stored_versions(recorder: Any, keys: Sequence[tuple[UUID, int]]) -> list[EventRow]:
    """The stored events with these (aggregate, version) keys, those the log has."""
    from psycopg.sql import SQL

    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE (originator_id, originator_version) IN "
        "(SELECT * FROM unnest(%s::uuid[], %s::bigint[]))"
    ).format(_postgres_table(recorder))
    ids, versions = zip(*keys, strict=True) if keys else ((), ())
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        cursor.execute(statement, [list(ids), list(versions)])
        return [
            (row["originator_id"], row["originator_version"], row["topic"], bytes(row["state"]))
            for row in cursor.fetchall()
        ]


def postgres_count(recorder: Any) -> int:
    from psycopg.sql import SQL

    statement = SQL("SELECT COUNT(*) AS n FROM {}").format(_postgres_table(recorder))
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        row = cursor.execute(statement).fetchone()
        return int(row["n"])


def postgres_totals(conn: Any, table: sql.Identifier) -> Totals | None:
    """The totals of the log in `table`, or None when there is no such table yet."""
    from psycopg import sql

    exists = conn.execute("SELECT to_regclass(%s)", [table.as_string(conn)]).fetchone()
    if exists is None or exists[0] is None:
        return None
    totals = conn.execute(
        sql.SQL(
            "SELECT COUNT(*), COALESCE(MAX(notification_id), 0), "
            "COUNT(DISTINCT originator_id) FROM {}"
        ).format(table)
    ).fetchone()
    assert totals is not None
    events, last, aggregates = map(int, totals)
    return events, last, aggregates


def postgres_insert_columns(table: sql.Identifier, id_type: str) -> sql.Composed:
    """Our recorder's insert: four plain arrays, unnested (see MasteryPostgresRecorder)."""
    from psycopg import sql

    return sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%s::{}[], %s::bigint[], %s::text[], %s::bytea[]) "
        "RETURNING notification_id"
    ).format(table, sql.SQL(id_type))
