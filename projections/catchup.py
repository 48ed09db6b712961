"""Keeping the read models level with the log: the catch-up loop.

SQLite has no subscriptions, so the read models follow the log by reading its
notifications in order, a batch at a time. Each batch is one read-model transaction
that also moves the tracking position: a crash loses the batch and its position
together, and the next run does it again. Exactly once, without coordination.

Within a batch, every rollup the batch touched is recomputed once, whatever number
of events touched it: a result touches its own rollup; a change of an outcome every
rollup of that outcome; a mastery scale or calculation method every rollup of its
course (or, for an account, of the whole root account).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils
from eventsourcing.persistence import Notification

from domain.events import EntityKind
from projections.rollups import RollupKey, rollups_for_keys
from projections.rows import VERSION_TABLES, StoredChange, context_account_row, kind_of_topic
from projections.schema import READ_MODEL_FORMAT, create_schema, read_model_format
from projections.settings import NOW
from replay.log import MasteryLog

TRACKING_NAME = "mastery"
DEFAULT_BATCH = 5_000


class ReadModelError(Exception):
    """The read models cannot be used as they are; `mastery rebuild` fixes it."""


def open_read_models(path: Path) -> sqlite_utils.Database:
    try:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        found = read_model_format(db)
        if found is not None and found != READ_MODEL_FORMAT:
            raise ReadModelError(
                f"{path} is in read-model format {found}, this program writes "
                f"{READ_MODEL_FORMAT}: run `mastery rebuild`"
            )
        create_schema(db)
    except sqlite3.DatabaseError as error:
        raise ReadModelError(
            f"{path} is not a usable database ({error}): run `mastery rebuild`"
        ) from error
    return db


def position_of(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT position FROM tracking WHERE name = ?", [TRACKING_NAME]).fetchone()
    return int(row[0]) if row else 0


def catch_up(
    log: MasteryLog,
    db: sqlite_utils.Database,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Apply every notification after the tracked position; returns how many."""
    applied = 0
    while True:
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")  # re-read the position under the write lock
        try:
            position = position_of(db)
            notifications = log.recorder.select_notifications(start=position + 1, limit=batch_size)
            if notifications:
                apply_batch(db, notifications)
                conn.execute(
                    "INSERT INTO tracking(name, position) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                    [TRACKING_NAME, notifications[-1].id],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not notifications:
            return applied
        applied += len(notifications)
        if on_batch is not None:
            on_batch(notifications[-1].id)


def apply_batch(db: sqlite_utils.Database, notifications: Sequence[Notification]) -> None:
    changes = _stored_changes(db, notifications)
    rows_by_table: dict[str, list[dict[str, Any]]] = {}
    touched: set[RollupKey] = set()
    outcomes: set[tuple[str, str]] = set()
    courses: set[tuple[str, str]] = set()
    root_accounts: set[str] = set()
    accounts = _known_accounts(db)
    for change in changes:
        entry = VERSION_TABLES.get(change.kind)
        if entry is not None:
            table, make_row = entry
            row = make_row(change)
            rows_by_table.setdefault(table, []).append(row)
            if change.kind is EntityKind.RESULT:
                if row["user_uuid"] and row["outcome_id"] and row["context_id"]:
                    touched.add(_rollup_key(row))
            elif change.kind is EntityKind.OUTCOME:
                outcomes.add((change.root_account, change.canvas_id))
            elif row["context_type"] == "Course":
                courses.add((change.root_account, row["context_id"]))
            else:
                root_accounts.add(change.root_account)
        account_row = context_account_row(change)
        if account_row is not None and _learn_account(db, accounts, account_row):
            if account_row["context_type"] == "Course":
                courses.add((change.root_account, account_row["context_id"]))
            else:
                root_accounts.add(change.root_account)
    for table, rows in rows_by_table.items():
        _insert(db, table, rows)
    _update_current_results(db, rows_by_table.get("result_versions", []))
    touched |= _keys_in_scope(db, outcomes, courses, root_accounts)
    if touched:
        records, gone = rollups_for_keys(db, touched, NOW)
        _insert(db, "rollups", [record.as_row() for record in records], replace=True)
        db.conn.executemany(
            "DELETE FROM rollups WHERE root_account = ? AND user_uuid = ? AND outcome_id = ? "
            "AND context_type = ? AND context_id = ?",
            sorted(gone),
        )


def _update_current_results(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> None:
    """Keep `results_current` at each result's latest version by valid time."""
    if not rows:
        return
    columns = list(rows[0])
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in columns if c not in ("root_account", "result_id")
    )
    db.conn.executemany(
        f"INSERT INTO results_current ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(root_account, result_id) DO UPDATE SET {updates} "
        "WHERE excluded.valid_order > results_current.valid_order",
        [tuple(row[column] for column in columns) for row in rows],
    )


def _stored_changes(
    db: sqlite_utils.Database, notifications: Sequence[Notification]
) -> list[StoredChange]:
    """Decode notifications; the entity of a later event is known from its first."""
    entities: dict[str, tuple[str, str]] = {}
    new_entities = []
    states = [orjson.loads(notification.state) for notification in notifications]
    for notification, state in zip(notifications, states, strict=True):
        if notification.originator_version == 1:
            key = str(notification.originator_id)
            entities[key] = (state["root_account"], state["canvas_id"])
            new_entities.append((key, notification.topic, *entities[key]))
    unknown = {str(n.originator_id) for n in notifications if str(n.originator_id) not in entities}
    if unknown:
        marks = ",".join("?" * len(unknown))
        for originator_id, root_account, canvas_id in db.execute(
            f"SELECT originator_id, root_account, canvas_id FROM entities "
            f"WHERE originator_id IN ({marks})",
            sorted(unknown),
        ):
            entities[originator_id] = (root_account, canvas_id)
    db.conn.executemany(
        "INSERT OR IGNORE INTO entities(originator_id, kind, root_account, canvas_id) "
        "VALUES (?, ?, ?, ?)",
        [
            (key, str(kind_of_topic(topic)), root, canvas)
            for key, topic, root, canvas in new_entities
        ],
    )
    changes = []
    for notification, state in zip(notifications, states, strict=True):
        kind = kind_of_topic(notification.topic)
        key = str(notification.originator_id)
        if kind is None or key not in entities:
            raise ReadModelError(
                f"log position {notification.id}: event of unknown entity or topic "
                f"{notification.topic!r}: the log is damaged or newer than this program"
            )
        root_account, canvas_id = entities[key]
        changes.append(StoredChange(notification.id, key, kind, root_account, canvas_id, state))
    return changes


def _rollup_key(row: dict[str, Any]) -> RollupKey:
    return (
        row["root_account"],
        row["user_uuid"],
        row["outcome_id"],
        row["context_type"] or "Course",
        row["context_id"],
    )


AccountKey = tuple[str, str, str]


def _known_accounts(db: sqlite_utils.Database) -> dict[AccountKey, tuple[str, str]]:
    rows = db.execute(
        "SELECT root_account, context_type, context_id, account_id, event_time "
        "FROM context_accounts"
    ).fetchall()
    return {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows}


def _learn_account(
    db: sqlite_utils.Database,
    known: dict[AccountKey, tuple[str, str]],
    row: dict[str, Any],
) -> bool:
    """Record a context's account; True when that changed what was known.

    Most events repeat what is known already: those cost a dictionary lookup.
    """
    key = (row["root_account"], row["context_type"], row["context_id"])
    before = known.get(key)
    if before is not None and (before[0] == row["account_id"] or before[1] >= row["event_time"]):
        return False
    known[key] = (row["account_id"], row["event_time"])
    cursor = db.execute(
        "INSERT INTO context_accounts(root_account, context_type, context_id, account_id, "
        "event_time) VALUES (:root_account, :context_type, :context_id, :account_id, "
        ":event_time) ON CONFLICT(root_account, context_type, context_id) DO UPDATE SET "
        "account_id = excluded.account_id, event_time = excluded.event_time "
        "WHERE excluded.event_time > context_accounts.event_time "
        "AND excluded.account_id != context_accounts.account_id",
        row,
    )
    return cursor.rowcount > 0


def _keys_in_scope(
    db: sqlite_utils.Database,
    outcomes: set[tuple[str, str]],
    courses: set[tuple[str, str]],
    root_accounts: set[str],
) -> set[RollupKey]:
    select = (
        "SELECT DISTINCT root_account, user_uuid, outcome_id, COALESCE(context_type, 'Course'), "
        "context_id FROM results_current WHERE user_uuid IS NOT NULL AND context_id IS NOT NULL "
        "AND outcome_id IS NOT NULL AND "
    )
    keys: set[RollupKey] = set()
    for root_account in root_accounts:
        keys.update(db.execute(select + "root_account = ?", [root_account]).fetchall())
    for root_account, outcome_id in outcomes - {(r, o) for r, o in outcomes if r in root_accounts}:
        keys.update(
            db.execute(select + "root_account = ? AND outcome_id = ?", [root_account, outcome_id])
        )
    for root_account, course_id in courses:
        if root_account not in root_accounts:
            keys.update(
                db.execute(
                    select + "root_account = ? AND context_id = ?", [root_account, course_id]
                )
            )
    return keys


def _insert(
    db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]], *, replace: bool = False
) -> None:
    if not rows:
        return
    columns = list(rows[0])
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    db.conn.executemany(
        f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(row[column] for column in columns) for row in rows],
    )
