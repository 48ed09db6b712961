"""Loading a fresh read model in bulk: versions first, indexes after, rollups in one scan.

A rebuild, or the first replay into a new store, projects the whole log into empty
tables. Done event by event, each batch looks up the rollup keys of its results,
marks them pending and keeps three indexes of `result_versions` up to date: most of
a rebuild's time, for rollups that do not exist yet. So a fresh read model starts
in bulk mode (the `bulk_load` mark in `meta`): batches only insert versions; when
the loop is level with the log, the indexes are made in one pass each, and every
rollup is computed from one scan of the versions in key order, in the transaction
of the batch that made the loop level. Until then `has_pending_work` is true, so a
reader finishes the load itself before it answers, as it does for pending rollups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlite_utils

from projections.feed_rows import Cause, feed_row, in_feed_order
from projections.rollups import (
    ROLLUP_COLUMNS,
    RollupKey,
    RollupRecord,
    current_rollups_for_keys,
    rollup_key_columns,
    rollup_records,
    score_rows,
)
from projections.schema import (
    RESULT_VERSION_INDEXES,
    ROLLUP_PRIMARY_KEY,
    insert_rows,
    upsert_rows,
)
from projections.settings import SettingsResolver

BULK_LOAD_MARK = "bulk_load"
CHUNK = 1_000
"""Rollups computed and written together: bounds memory (the scan's rows are most of
it, ~10 MB a chunk at ten versions a key)."""

_SCAN = (
    f"SELECT {ROLLUP_COLUMNS}, r.position, r.canvas_event, r.recorded_at "
    "FROM result_versions r INDEXED BY idx_result_versions_user_uuid_outcome_id_context_id "
    "WHERE r.user_uuid IS NOT NULL AND r.outcome_id IS NOT NULL AND r.context_id IS NOT NULL "
    "ORDER BY r.user_uuid, r.outcome_id, r.context_id"
)


def start_bulk_load(db: sqlite_utils.Database) -> None:
    """Mark a read model just created (in its creating transaction) for a bulk load."""
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", [BULK_LOAD_MARK])


def bulk_loading(db: sqlite_utils.Database) -> bool:
    row = db.execute("SELECT 1 FROM meta WHERE key = ?", [BULK_LOAD_MARK]).fetchone()
    return row is not None


def finish_bulk_load(db: sqlite_utils.Database, resolver: SettingsResolver) -> None:
    """Index the versions, compute every rollup and its change-feed row, clear the mark.

    Runs inside the loop's transaction: killed, it leaves the mark, and the next
    pass does it again.
    """
    for table, columns in RESULT_VERSION_INDEXES:
        db.table(table).create_index(columns, if_not_exists=True)
    _record_moved_results(db)
    spanning = {
        tuple(row) for row in db.execute("SELECT root_account, result_id FROM moved_results")
    }
    deferred: dict[RollupKey, Cause] = {}
    for groups, causes in _chunks_of_keys(db, spanning, deferred):
        _store(db, rollup_records(score_rows(groups), resolver), causes)
    if deferred:  # keys with a result whose versions span keys: the general path
        _spanning_causes(db, deferred)
        records, _ = current_rollups_for_keys(db, deferred, resolver)
        _store(db, records, deferred)
    db.execute("DELETE FROM meta WHERE key = ?", [BULK_LOAD_MARK])


def _record_moved_results(db: sqlite_utils.Database) -> None:
    """Results with versions under several keys, or under a key and under none.

    What the event-by-event path records batch by batch (`_keys_of_results`). Only a
    result with several versions can be one (a few percent of results), and finding
    those needs the index alone: the versions' keys are read for them only.
    """
    key = (
        "CASE WHEN r.user_uuid IS NULL OR r.outcome_id IS NULL OR r.context_id IS NULL "
        "THEN '' ELSE r.user_uuid || x'1f' || r.outcome_id || x'1f' || r.context_type "
        "|| x'1f' || r.context_id END"
    )
    db.execute(
        "INSERT OR IGNORE INTO moved_results (root_account, result_id) "
        "SELECT r.root_account, r.result_id FROM (SELECT result_id, root_account "
        "FROM result_versions GROUP BY result_id, root_account HAVING COUNT(*) > 1) c "
        "JOIN result_versions r ON r.result_id = c.result_id AND r.root_account = c.root_account "
        f"GROUP BY r.result_id, r.root_account HAVING MIN({key}) != MAX({key})"
    )


def _chunks_of_keys(
    db: sqlite_utils.Database,
    spanning: set[tuple[str, ...]],
    deferred: dict[RollupKey, Cause],
) -> Iterator[tuple[dict[RollupKey, list[Any]], dict[RollupKey, Cause]]]:
    """Every key's rows, each result in its latest version, a chunk of keys at a time.

    The scan follows the index, so a key's rows come together (keys that share the
    student, outcome and course but not the root account or context type come in
    one run). A key holding a result in `spanning` goes to `deferred` instead.
    """
    groups: dict[RollupKey, dict[str, Any]] = {}
    last: dict[RollupKey, Any] = {}  # each key's row of the highest position: its cause
    run: tuple[str, str, str] | None = None
    cursor = db.conn.cursor()
    cursor.execute(_SCAN)
    while rows := cursor.fetchmany(4096):
        for row in rows:
            if run != row[1:3] + row[4:5] and len(groups) >= CHUNK:
                yield _complete(groups, last, deferred)
                groups, last = {}, {}
            run = row[1:3] + row[4:5]
            key: RollupKey = row[:5]
            before = last.get(key)
            if before is None or before[15] < row[15]:
                last[key] = row
            if (row[0], row[5]) in spanning:
                deferred[key] = _cause_of(row)  # its cause: set when the key is complete
            latest = groups.setdefault(key, {})
            seen = latest.get(row[5])
            if seen is None or seen[6] < row[6]:
                latest[row[5]] = row
    if groups:
        yield _complete(groups, last, deferred)


def _complete(
    groups: dict[RollupKey, dict[str, Any]],
    last: dict[RollupKey, Any],
    deferred: dict[RollupKey, Cause],
) -> tuple[dict[RollupKey, list[Any]], dict[RollupKey, Cause]]:
    """Complete keys, each result in its latest version, and their causes; deferred
    keys get their cause."""
    complete = {}
    causes = {}
    for key, latest in groups.items():
        cause = _cause_of(last[key])
        if key in deferred:
            deferred[key] = cause
        else:
            complete[key] = list(latest.values())
            causes[key] = cause
    return complete, causes


def _cause_of(row: Any) -> Cause:
    """The cause a row of `_SCAN` names: its position, canvas_event, recorded_at."""
    return Cause(row[15], row[16], row[17])


def _spanning_causes(db: sqlite_utils.Database, deferred: dict[RollupKey, Cause]) -> None:
    """A deferred key's cause is also the latest version of its spanning results."""
    latest: dict[tuple[str, str], Cause] = {}
    for root_account, result_id, *cause in db.execute(
        "SELECT r.root_account, r.result_id, r.position, r.canvas_event, r.recorded_at "
        "FROM moved_results m JOIN result_versions r USING (root_account, result_id) "
        "ORDER BY r.position"
    ):
        latest[(root_account, result_id)] = Cause(cause[0], cause[1], cause[2])
    for key, (root_account, result_id) in _spanning_members(db, deferred):
        found = latest.get((root_account, result_id))
        if found is not None and found.position > deferred[key].position:
            deferred[key] = found


def _spanning_members(
    db: sqlite_utils.Database, keys: Iterable[RollupKey]
) -> Iterator[tuple[RollupKey, tuple[str, str]]]:
    wanted = set(keys)
    for row in db.execute(
        f"SELECT {rollup_key_columns('r')}, r.result_id "
        "FROM moved_results m JOIN result_versions r USING (root_account, result_id)"
    ):
        key = row[:5]
        if key in wanted:
            yield key, (row[0], row[5])


def _store(
    db: sqlite_utils.Database, records: Sequence[RollupRecord], causes: dict[RollupKey, Cause]
) -> None:
    """The rollups, and a feed row for each (they are all new), in the feed's order."""
    rows = [record.as_row() for record in records]
    upsert_rows(db, "rollups", rows, ROLLUP_PRIMARY_KEY)
    feed = [
        feed_row(record.key, None, row, causes[record.key])
        for record, row in zip(records, rows, strict=True)
    ]
    insert_rows(db, "rollup_changes", in_feed_order(feed))
