"""Loading a fresh read model in bulk: versions first, indexes after, rollups in one scan.

A rebuild, or the first replay into a new store, projects the whole log into empty
tables. Done event by event, each batch looks up the rollup keys of its results,
marks them pending and keeps three indexes of `result_versions` up to date: most of
a rebuild's time, for rollups that do not exist yet. So a fresh read model starts
in bulk mode (the `bulk_load` mark in `meta`): batches only insert versions; when
the loop is level with the log, the indexes are made in one pass each, and every
rollup is computed from one scan of the versions in key order
(`projections.bulk_rollups`), in transactions of their own. Until then
`has_pending_work` is true, so a reader finishes the load itself before it answers,
as it does for pending rollups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlite_utils

from projections import write_lock
from projections.bulk_rollups import (
    Chunk,
    Helper,
    Students,
    chunk_of,
    chunks,
    spanning_results,
    split_point,
)
from projections.feed_rows import Cause
from projections.rollups import RollupKey, current_rollups_for_keys, rollup_key_columns
from projections.schema import (
    RESULT_VERSION_INDEXES,
    ROLLUP_PRIMARY_KEY,
    insert_rows,
    upsert_rows,
)
from projections.settings import NOW, SettingsResolver

BULK_LOAD_MARK = "bulk_load"


def start_bulk_load(db: sqlite_utils.Database) -> None:
    """Mark a read model just created (in its creating transaction) for a bulk load."""
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", [BULK_LOAD_MARK])


def bulk_loading(db: sqlite_utils.Database) -> bool:
    row = db.execute("SELECT 1 FROM meta WHERE key = ?", [BULK_LOAD_MARK]).fetchone()
    return row is not None


def end_bulk_load(db: sqlite_utils.Database) -> None:
    """Index the versions, compute every rollup and its change-feed row, clear the mark.

    Two transactions of its own, each taken under the write lock and doing nothing if
    another process ended the load meanwhile: the indexes and moved results first,
    committed, so that a helper process can read them (`projections.bulk_rollups`);
    then the rollups, with the mark cleared. Killed in between, the mark stays and the
    next pass does what is left; readers finish the load themselves until it is gone.
    """
    with _write_transaction(db) as loading:
        if loading:
            for table, columns in RESULT_VERSION_INDEXES:
                db.table(table).create_index(columns, if_not_exists=True)
            _record_moved_results(db)
    with _write_transaction(db) as loading:
        if loading:
            _store_every_rollup(db, SettingsResolver(db, NOW))
            db.execute("DELETE FROM meta WHERE key = ?", [BULK_LOAD_MARK])


@contextmanager
def _write_transaction(db: sqlite_utils.Database) -> Iterator[bool]:
    """A transaction under the write lock; yields whether the bulk load is still on."""
    write_lock.begin_immediate(db.conn)
    try:
        yield bulk_loading(db)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _store_every_rollup(db: sqlite_utils.Database, resolver: SettingsResolver) -> None:
    """Every rollup, half of the students computed by a helper process when it pays."""
    spanning = spanning_results(db)
    deferred: dict[RollupKey, Cause] = {}
    middle = split_point(db)
    if middle is None:
        for found in chunks(db, spanning, deferred, resolver=resolver):
            _store(db, found)
    else:
        helper = Helper(db, Students(first=middle))
        try:
            for found in chunks(db, spanning, deferred, Students(last=middle), resolver):
                _store(db, found)
            for found in helper.results(deferred):
                _store(db, found)
        finally:
            helper.close()
    if deferred:  # keys with a result whose versions span keys: the general path
        _spanning_causes(db, deferred)
        records, _ = current_rollups_for_keys(db, deferred, resolver)
        _store(db, chunk_of(records, deferred))


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


def _store(db: sqlite_utils.Database, found: Chunk) -> None:
    upsert_rows(db, "rollups", found.rollups, ROLLUP_PRIMARY_KEY)
    insert_rows(db, "rollup_changes", found.feed)
