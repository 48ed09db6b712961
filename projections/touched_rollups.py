"""Which rollups a batch touches: those of the keys its results have versions in, and
every rollup of an outcome, course or root account whose settings it changed."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from projections.rollups import ROLLUP_KEY_SQL, RollupKey
from projections.rows import StoredChange


def keep_latest_causes(
    causes: dict[RollupKey, StoredChange], more: dict[RollupKey, StoredChange]
) -> None:
    """Add `more` to `causes`; a key in both keeps the later change as its cause."""
    for key, cause in more.items():
        if key not in causes or causes[key].position < cause.position:
            causes[key] = cause


KEYS_OF_BATCH_RESULTS = (
    "SELECT DISTINCT r.root_account, r.result_id, r.user_uuid, r.outcome_id, "
    "r.context_type, r.context_id FROM temp.batch_results b "
    "CROSS JOIN result_versions r "
    "ON r.result_id = b.result_id AND r.root_account = b.root_account"
)
"""The versions of a batch's results, looked up by index. CROSS JOIN keeps the batch as
the outer loop: with a plain JOIN SQLite, knowing nothing of the temporary table's
size, chose to scan every version and probe the batch, so that each batch of a live
follower or of a replay into an existing store cost time in the size of the store."""


def keys_of_results(
    db: sqlite_utils.Database, changes: list[StoredChange]
) -> dict[RollupKey, StoredChange]:
    """Every rollup key in which the results of these changes have a version."""
    if not changes:
        return {}
    latest: dict[tuple[str, str], StoredChange] = {}
    for change in changes:
        latest[(change.root_account, change.canvas_id)] = change
    db.execute("CREATE TEMP TABLE IF NOT EXISTS batch_results (root_account, result_id)")
    db.execute("DELETE FROM temp.batch_results")
    db.conn.executemany("INSERT INTO temp.batch_results VALUES (?, ?)", list(latest))
    keys: dict[RollupKey, StoredChange] = {}
    keys_of: dict[tuple[str, str], set[RollupKey | None]] = {}
    for row in db.execute(KEYS_OF_BATCH_RESULTS):
        root_account, result_id, user_uuid, outcome_id, context_type, context_id = row
        found = keys_of.setdefault((root_account, result_id), set())
        if user_uuid is None or outcome_id is None or context_id is None:
            found.add(None)  # a version in no rollup: as the latest, it leaves its key
            continue
        key = (root_account, user_uuid, outcome_id, context_type, context_id)
        keys[key] = latest[(root_account, result_id)]
        found.add(key)
    # Remember the (rare) results whose versions name several keys, or a key and none:
    # recomputing a rollup must then look at all their versions, not only its own rows.
    db.conn.executemany(
        "INSERT OR IGNORE INTO moved_results (root_account, result_id) VALUES (?, ?)",
        [result for result, found in keys_of.items() if len(found) > 1],
    )
    return keys


def keys_in_scope(
    db: sqlite_utils.Database,
    outcomes: dict[tuple[str, str], StoredChange],
    courses: dict[tuple[str, str], StoredChange],
    root_accounts: dict[str, StoredChange],
) -> dict[RollupKey, StoredChange]:
    """Every rollup a change of an outcome, a course or a root account affects."""
    # The rollups that exist: rollups not computed yet are pending already, and are
    # computed at the end of the catch-up with the settings in force then.
    select = f"SELECT {ROLLUP_KEY_SQL} FROM rollups WHERE "
    keys: dict[RollupKey, StoredChange] = {}

    def add(rows: Any, cause: StoredChange) -> None:
        for row in rows:
            key: RollupKey = tuple(row)
            if key not in keys or keys[key].position < cause.position:
                keys[key] = cause

    for root_account, cause in root_accounts.items():
        add(db.execute(select + "root_account = ?", [root_account]), cause)
    for column, scopes in (("outcome_id", outcomes), ("context_id", courses)):
        for (root_account, scope_id), cause in scopes.items():
            if root_account not in root_accounts:  # else its root account's came above
                where = f"root_account = ? AND {column} = ?"
                add(db.execute(select + where, [root_account, scope_id]), cause)
    return keys
