"""Keeping the read models level with the log: the catch-up loop.

SQLite has no subscriptions, so the read models follow the log by reading its
notifications in order, a batch at a time. Each batch is one read-model transaction
that also moves the tracking position: a crash loses the batch and its position
together, and the next run does it again. Exactly once, without coordination.

The loop decodes each batch once and hands it to every projector in `PROJECTORS`;
a projector owns its tables and knows nothing of the loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from projections import write_lock
from projections.bulk_load import bulk_loading, end_bulk_load
from projections.hierarchy import HierarchyProjector
from projections.log_port import LogReader, LogRow
from projections.log_summary import LogSummaryProjector
from projections.mastery import MasteryProjector
from projections.provenance import ProvenanceProjector
from projections.rows import StoredChange, kind_of_topic
from projections.schema import (
    READ_MODEL_FORMAT,
    create_bookkeeping,
    create_tables,
    other_format_problem,
    read_model_format,
)
from projections.unprojectable import TABLES as UNPROJECTABLE_TABLES
from projections.unprojectable import Unprojectable, unprojectable
from projections.unprojectable import record as record_unprojectable


class Projector(Protocol):
    """A read model fed by the catch-up loop, inside the loop's transaction."""

    name: str

    def create_schema(self, db: sqlite_utils.Database) -> None: ...

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None: ...


PROJECTORS: list[Projector] = [
    MasteryProjector(),
    LogSummaryProjector(),
    HierarchyProjector(),
    ProvenanceProjector(),
]
# A projector may also define `finish(db, chunk=N)`: work deferred until the loop is
# level with the log, done in the transaction of the batch that made it level, N keys
# at a time.

TRACKING_NAME = "mastery"
DEFAULT_BATCH = 5_000


class ReadModelError(Exception):
    """The read models cannot be used as they are; `mastery rebuild` fixes it."""


def open_read_models(path: Path) -> sqlite_utils.Database:
    try:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        connection = sqlite3.connect(
            path, isolation_level=None, timeout=write_lock.NOTICE_AFTER_SECONDS
        )
        db = sqlite_utils.Database(connection)
        # Making a new file WAL takes the write lock: two first replays meet here.
        write_lock.waiting_for_lock(lambda: connection.execute("PRAGMA journal_mode=WAL"))
        db.execute("PRAGMA synchronous=NORMAL")
        # Version tables grow indexes keyed by random-looking ids; with SQLite's default
        # 2 MB page cache every insert re-reads index pages. 64 MB keeps them.
        db.execute("PRAGMA cache_size=-65536")
        # Sorts that outgrow the cache (an index made over millions of versions) spill
        # to temporary files, not to memory: memory stays bounded whatever the log's size.
        db.execute("PRAGMA temp_store=FILE")
        found = read_model_format(db)
        if found is not None and found != READ_MODEL_FORMAT:
            raise ReadModelError(other_format_problem(path, found))
        if found is None:
            _create_schema(db)
    except sqlite3.OperationalError:
        raise  # cannot open, read-only, disk full, locked: not the file's fault
    except sqlite3.DatabaseError as error:
        raise ReadModelError(
            f"{path} is not a usable database ({error}): run `mastery rebuild`"
        ) from error
    return db


def _create_schema(db: sqlite_utils.Database) -> None:
    """Every table in one transaction, the format marker with them.

    A reader that opens the file while a first replay creates it sees either no
    format (not ready) or every table: never a marked file with tables missing.
    """
    write_lock.begin_immediate(db.conn)
    try:
        if read_model_format(db) is None:  # another process may have won the race
            create_bookkeeping(db)  # first: projectors may keep marks in `meta`
            create_tables(db, UNPROJECTABLE_TABLES, [])
            for projector in PROJECTORS:
                projector.create_schema(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def has_pending_work(db: sqlite_utils.Database) -> bool:
    """Whether a pass left work to finish (see `catch_up`'s `finish_when_level`)."""
    return bulk_loading(db) or bool(
        db.execute("SELECT EXISTS (SELECT 1 FROM rollups_pending)").fetchone()[0]
    )


def position_of(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT position FROM tracking WHERE name = ?", [TRACKING_NAME]).fetchone()
    return int(row[0]) if row else 0


def catch_up(
    log: LogReader,
    db: sqlite_utils.Database,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[int], None] | None = None,
    finish_when_level: bool = True,
    finish_chunk: int | None = None,
) -> int:
    """Apply every notification after the tracked position; returns how many.

    `finish_when_level=False` leaves deferred work (pending rollups) for a later
    pass: a follower that projects while a replay appends would otherwise recompute
    a student's rollup after each of their results. Readers finish it themselves
    (`has_pending_work`), so no answer depends on whether it was left.
    """
    applied = 0
    while True:
        conn = db.conn
        # re-read the position under the write lock (waited for, if another writer has it)
        write_lock.begin_immediate(conn)
        try:
            position = position_of(db)
            notifications = log.rows_after(position, batch_size)
            if notifications:
                changes, undecodable = _stored_changes(notifications, log.decode)
                record_unprojectable(db, undecodable)
                for projector in PROJECTORS:
                    projector.apply(db, changes)
                conn.execute(
                    "INSERT INTO tracking(name, position) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET position = excluded.position",
                    [TRACKING_NAME, notifications[-1][0]],
                )
            level = len(notifications) < batch_size
            if finish_when_level and level:
                for projector in PROJECTORS:
                    finish = getattr(projector, "finish", None)
                    if finish is not None:
                        finish(db, chunk=finish_chunk)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if finish_when_level and level and bulk_loading(db):
            end_bulk_load(db)  # in transactions of its own (projections/bulk_load.py)
        if not notifications:
            return applied
        applied += len(notifications)
        if on_batch is not None:
            on_batch(notifications[-1][0])


def _stored_changes(
    notifications: Sequence[LogRow],
    read_state: Callable[[bytes], dict[str, Any]],
) -> tuple[list[StoredChange], list[Unprojectable]]:
    """Decode notifications into changes, and those that cannot be (see `unprojectable`)."""
    changes = []
    undecodable = []
    for position, topic, data in notifications:
        state: object = None
        try:
            kind = kind_of_topic(topic)
            state = read_state(data)
            if kind is None or not isinstance(state, dict):
                raise ValueError(f"an event of unknown topic {topic!r}")
            root_account, canvas_id = state["root_account"], state["canvas_id"]
            if not isinstance(root_account, str) or not isinstance(canvas_id, str):
                raise ValueError("the event names no entity")
            changes.append(StoredChange(position, kind, root_account, canvas_id, state))
        except Exception as error:  # whatever does not decode is the finding itself
            reason = f"does not decode ({type(error).__name__}: {error})"
            undecodable.append(unprojectable(position, state, reason))
    return changes, undecodable
