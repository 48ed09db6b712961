"""The change feed of rollups, as a downstream consumer reads it.

The mastery projection appends a row to `rollup_changes` for every rollup whose
score, rating, count or mastery changed, in the same transaction as the change
itself (projections/mastery.py). This module is the reading side of that contract:

* **Order.** `sequence` is the table's integer primary key: assigned at insert by
  the only writer (the catch-up loop holds SQLite's write lock for the batch), and
  rows are never updated or deleted. A reader only ever sees committed batches, so
  it sees a prefix of the sequence: no gap appears that a later commit would fill.
* **Exactly once.** A consumer that stores the last `sequence` it applied and asks
  for the rows after it sees every change once, in order, whatever it is polling
  against (a replay appending, a rebuild, nothing).
* **Epoch.** `feed_epoch` (in `meta`) is drawn when the read-model file is created.
  `mastery rebuild` makes a new file, so the sequence starts again at 1 under a new
  epoch: a consumer that sees an epoch other than its own must drop what it built
  and read the feed again from 0 (it will receive every current rollup again).
* **State.** Applying the rows in order, keeping for each (root account, user,
  outcome, context) the latest `new_*` values, and dropping the key when `count` is
  0 (no scored result: Canvas shows no rollup), gives exactly the `rollups` table
  restricted to `count > 0`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlite_utils


class FeedError(ValueError):
    """The feed cannot be read as asked."""


def feed_epoch(db: sqlite_utils.Database) -> str:
    row = db.execute("SELECT value FROM meta WHERE key = 'feed_epoch'").fetchone()
    if row is None:
        raise FeedError("the read models have no feed epoch: run `mastery rebuild`")
    return str(row[0])


def last_sequence(db: sqlite_utils.Database) -> int:
    row = db.execute("SELECT max(sequence) FROM rollup_changes").fetchone()
    return int(row[0] or 0)


def changes_after(
    db: sqlite_utils.Database, after: int, limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """The changes with a sequence above `after`, in sequence order, as JSON-ready dicts.

    Read in one statement, hence from one snapshot: the epoch is read in the same
    transaction, so a rebuild between the two can never pair new rows with an old
    epoch.
    """
    if after < 0:
        raise FeedError(f"--after {after}: a sequence is 0 or more")
    conn = db.conn
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")
    try:
        epoch = feed_epoch(db)
        cursor = conn.execute(
            "SELECT sequence, root_account, user_uuid, outcome_id, context_type, context_id, "
            "old_score, new_score, old_rating, new_rating, new_rating_points, "
            "new_rating_color, new_mastery, new_count, caused_by_position, caused_by_event, "
            "recorded_at FROM rollup_changes WHERE sequence > ? ORDER BY sequence LIMIT ?",
            [after, -1 if limit is None else limit],
        )
        for row in cursor:
            yield change_json(row, epoch)
    finally:
        if began:
            conn.execute("COMMIT")


def change_json(row: tuple[Any, ...], epoch: str) -> dict[str, Any]:
    (
        sequence,
        root_account,
        user_uuid,
        outcome_id,
        context_type,
        context_id,
        old_score,
        new_score,
        old_rating,
        new_rating,
        new_rating_points,
        new_rating_color,
        new_mastery,
        new_count,
        position,
        event,
        recorded_at,
    ) = row
    return {
        "sequence": sequence,
        "epoch": epoch,
        "root_account_id": root_account,
        "user_uuid": user_uuid,
        "learning_outcome_id": outcome_id,
        "context_type": context_type,
        "context_id": context_id,
        "old_score": old_score,
        "new_score": new_score,
        "old_rating": old_rating,
        "new_rating": new_rating,
        "new_rating_points": new_rating_points,
        "new_rating_color": new_rating_color,
        "mastery": None if new_mastery is None else bool(new_mastery),
        "count": new_count,
        "caused_by": {"position": position, "event": event},
        "recorded_at": recorded_at,
    }
