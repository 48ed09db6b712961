"""The mastery projection: versions of everything a rollup depends on, and rollups.

A batch records its versions and marks the rollups it touched as pending: a result
touches its own rollup; a change of an outcome every rollup of that outcome; a
mastery scale or calculation method every rollup of its course (or, for an account,
of the whole root account), and so does learning a new link of the account chain.
Pending rollups are recomputed once, when the loop has caught up with the log (or
when too many wait), in the same transaction as the batch that ends the catch-up:
a replay of a million events recomputes each rollup once, not once per result, and
no reader ever sees results and rollups that disagree at a committed position.

Every rollup that changes gets a row in `rollup_changes`, the change feed that
downstream read models poll (`mastery changes`): a strictly increasing sequence,
the old and new score and rating, and the log position of the event that caused it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from domain.kinds import EntityKind
from projections.bulk_load import bulk_loading, start_bulk_load
from projections.feed_rows import Cause, feed_row, in_feed_order
from projections.rollups import (
    ROLLUP_KEY_MATCH,
    ROLLUP_KEY_SQL,
    RollupKey,
    RollupRecord,
    current_rollups_for_keys,
    rollup_key_columns,
)
from projections.rows import VERSION_TABLES, StoredChange, context_account_row
from projections.schema import (
    INDEXES,
    RESULT_VERSION_INDEXES,
    ROLLUP_PRIMARY_KEY,
    TABLES,
    create_tables,
    insert_rows,
    upsert_rows,
)
from projections.settings import NOW, SettingsResolver
from projections.touched_rollups import keep_latest_causes, keys_in_scope, keys_of_results
from projections.unprojectable import Rows, Unprojectable, column_kinds, screen
from projections.unprojectable import record as record_unprojectable

MAX_PENDING = 500_000
"""Pending rollups recomputed early once this many wait: bounds the staleness."""
BULK_LOAD_NEW_READ_MODELS = True
"""Off only in tests, to compare a bulk load with the event-by-event path."""
FINISH_CHUNK = 2_000
"""Rollups recomputed together: bounds memory (a rollup may have hundreds of results).
A process that lives for months takes smaller chunks (`catch_up(finish_chunk=...)`):
the objects of a large chunk spread over many of the interpreter's memory arenas, and a
few long-lived ones made meanwhile keep them all (README Performance, live intake)."""


class MasteryProjector:
    name = "mastery"

    def __init__(self) -> None:
        # Settings resolved in earlier batches stay valid until an outcome, a scale, a
        # method or the account chain changes: most batches of a replay are results.
        # Valid only while this projector applied every batch itself: another process
        # may have applied a batch (with a scale change) to the same read models.
        self._resolvers: weakref.WeakKeyDictionary[sqlite_utils.Database, SettingsResolver] = (
            weakref.WeakKeyDictionary()
        )
        self._applied_up_to: weakref.WeakKeyDictionary[sqlite_utils.Database, int] = (
            weakref.WeakKeyDictionary()
        )

    def create_schema(self, db: sqlite_utils.Database) -> None:
        """A new read model: its versions are loaded in bulk (projections/bulk_load.py)."""
        create_tables(db, TABLES, INDEXES)
        if BULK_LOAD_NEW_READ_MODELS:
            start_bulk_load(db)
        else:
            create_tables(db, {}, RESULT_VERSION_INDEXES)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        """Record the batch's versions and mark the rollups it touched as pending."""
        self._note_batch(db, changes)
        batch = _sort_batch(db, changes)
        record_unprojectable(db, batch.held_back)
        for table, rows in batch.rows_by_table.items():
            insert_rows(db, table, rows)
        if bulk_loading(db):  # every rollup is computed when the load ends
            return
        # A result whose versions name another student, outcome or course (colliding
        # ids) leaves that rollup too: touch every key the result has versions in.
        causes = batch.causes
        keep_latest_causes(causes, keys_of_results(db, batch.result_changes))
        keep_latest_causes(
            causes, keys_in_scope(db, batch.outcomes, batch.courses, batch.root_accounts)
        )
        if batch.outcomes or batch.courses or batch.root_accounts:
            self._resolvers.pop(db, None)
        _mark_pending(db, causes)
        if _pending_count(db) >= MAX_PENDING:
            self.finish(db)

    def _note_batch(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        """Remember where this projector's batches end; forget the settings resolved so far
        when a batch does not start where the last one ended (another process applied some)."""
        if changes and self._applied_up_to.get(db) != _tracked_position(db):
            self._resolvers.pop(db, None)  # someone else applied batches in between
        if changes:
            self._applied_up_to[db] = changes[-1].position

    def finish(self, db: sqlite_utils.Database, *, chunk: int | None = None) -> None:
        """Recompute every pending rollup (the loop calls this when it is level).

        In chunks (`chunk`, else FINISH_CHUNK), so that memory stays bounded however
        many rollups wait.
        """
        if bulk_loading(db):
            return  # the loop ends the load after this transaction (bulk_load.end_bulk_load)
        if self._applied_up_to.get(db) != _tracked_position(db):
            self._resolvers.pop(db, None)  # another process applied the last batches
        resolver = self._resolvers.setdefault(db, SettingsResolver(db, NOW))
        while True:
            pending = {
                row[:5]: Cause(*row[5:])
                for row in db.execute(
                    f"SELECT {ROLLUP_KEY_SQL}, caused_by_position, caused_by_event, recorded_at "
                    "FROM rollups_pending LIMIT ?",
                    [chunk or FINISH_CHUNK],
                )
            }
            if not pending:
                return
            records, gone = current_rollups_for_keys(db, pending, resolver)
            _record_changes(db, records, gone, pending)
            upsert_rows(db, "rollups", [record.as_row() for record in records], ROLLUP_PRIMARY_KEY)
            db.conn.executemany(f"DELETE FROM rollups WHERE {ROLLUP_KEY_MATCH}", sorted(gone))
            db.conn.executemany(
                f"DELETE FROM rollups_pending WHERE {ROLLUP_KEY_MATCH}", list(pending)
            )


@dataclass
class _Batch:
    """What a batch brings: version rows by table, the changes that cannot be projected,
    and what it touches: rollups by key (with the change that caused it), results, and the
    outcomes, courses and root accounts whose rollups all need recomputing."""

    rows_by_table: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    held_back: list[Unprojectable] = field(default_factory=list)
    causes: dict[RollupKey, StoredChange] = field(default_factory=dict)
    result_changes: list[StoredChange] = field(default_factory=list)
    outcomes: dict[tuple[str, str], StoredChange] = field(default_factory=dict)
    courses: dict[tuple[str, str], StoredChange] = field(default_factory=dict)
    root_accounts: dict[str, StoredChange] = field(default_factory=dict)

    def touch_context(self, change: StoredChange, row: dict[str, Any]) -> None:
        """A course's rollups, or for an account every rollup of its root account."""
        if row["context_type"] == "Course":
            self.courses[(change.root_account, row["context_id"])] = change
        else:
            self.root_accounts[change.root_account] = change


def _sort_batch(db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> _Batch:
    """The batch's rows and what they touch, in the batch's order (a later change is the
    cause of what it touches). Learns the account chain as it goes: a context that moves
    to another account touches its rollups."""
    batch = _Batch()
    accounts = _known_accounts(db)
    for change in changes:
        screened = screen(change, _rows_of, _COLUMN_KINDS)
        if isinstance(screened, Unprojectable):
            batch.held_back.append(screened)
            continue
        account_row = _add_rows(batch, change, screened)
        if account_row is not None and _learn_account(db, accounts, account_row):
            batch.touch_context(change, account_row)
    return batch


def _add_rows(batch: _Batch, change: StoredChange, screened: Rows) -> dict[str, Any] | None:
    """Add a change's version rows to the batch, with what each touches; the row of the
    context's account is returned instead (it is learnt in order, against the store)."""
    account_row = None
    for table, row in screened:
        if table == "context_accounts":
            account_row = row
            continue
        batch.rows_by_table.setdefault(table, []).append(row)
        if change.kind is EntityKind.RESULT:
            batch.result_changes.append(change)
            if row["user_uuid"] and row["outcome_id"] and row["context_id"]:
                batch.causes[_rollup_key(row)] = change
        elif change.kind is EntityKind.OUTCOME:
            batch.outcomes[(change.root_account, change.canvas_id)] = change
        else:  # a mastery scale or a calculation method, of a course or an account
            batch.touch_context(change, row)
    return account_row


def _rows_of(change: StoredChange) -> Rows:
    """The change's version row, then what it reveals of the account chain."""
    rows: Rows = []
    entry = VERSION_TABLES.get(change.kind)
    if entry is not None:
        table, make_row = entry
        rows.append((table, make_row(change)))
    account_row = context_account_row(change)
    if account_row is not None:
        rows.append(("context_accounts", account_row))
    return rows


_COLUMN_KINDS = column_kinds(TABLES)


def _tracked_position(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT MAX(position) FROM tracking").fetchone()
    return int(row[0] or 0)


def _mark_pending(db: sqlite_utils.Database, causes: dict[RollupKey, StoredChange]) -> None:
    db.conn.executemany(
        f"INSERT INTO rollups_pending ({ROLLUP_KEY_SQL}, "
        "caused_by_position, caused_by_event, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
        "caused_by_position = excluded.caused_by_position, "
        "caused_by_event = excluded.caused_by_event, recorded_at = excluded.recorded_at "
        "WHERE excluded.caused_by_position > rollups_pending.caused_by_position",
        [
            (*key, cause.position, cause.state["canvas_event"], cause.recorded_at)
            for key, cause in causes.items()
        ],
    )


def _pending_count(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT COUNT(*) FROM rollups_pending").fetchone()
    return int(row[0])


def _record_changes(
    db: sqlite_utils.Database,
    records: list[RollupRecord],
    gone: set[RollupKey],
    causes: dict[RollupKey, Cause],
) -> None:
    """Append a feed row for every rollup whose score, rating, count or mastery changed.

    The rollups being recomputed are in `temp.wanted_keys` (current_rollups_for_keys).
    """
    before = {
        tuple(row[:5]): row[5:]
        for row in db.execute(
            f"SELECT {rollup_key_columns('r')}, "
            "r.score, r.rating_description, r.count, r.mastery "
            f"FROM temp.wanted_keys k JOIN rollups r USING ({ROLLUP_KEY_SQL})"
        )
    }
    feed = []
    for record in records:
        row = record.as_row()
        old = before.get(record.key)
        new = (row["score"], row["rating_description"], row["count"], row["mastery"])
        if old is not None and tuple(old) == new:
            continue
        feed.append(feed_row(record.key, old, row, causes[record.key]))
    for key in sorted(gone):
        old = before.get(key)
        if old is not None:
            feed.append(feed_row(key, old, None, causes[key]))
    insert_rows(db, "rollup_changes", in_feed_order(feed))


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
