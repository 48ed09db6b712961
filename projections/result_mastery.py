"""What each result version said about mastery, for the "Outcome Results" export.

Canvas's Outcome Results report has a "learning outcome mastered" column: the
result's own `mastery` flag, set by whatever graded it (a rubric assessment, a quiz)
and carried by every `learning_outcome_result_*` event. Rollups never use it
(see reference/mastery-semantics.md), so the mastery projection does not keep it;
this small table does, one row per result version, keyed by the log position of
the event that made the version, so that a row of `result_versions` joins its flag
on `position`. Payloads from before late 2019 put the outcome id in `mastery`
(canvas-lms issue 1526): the ingest moves those to `legacy_mastery`, and they are
stored here as unknown (NULL), never as true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from domain.events import EntityKind
from projections.rows import StoredChange
from projections.schema import Tables, create_tables, insert_rows

RESULT_MASTERY_TABLES: Tables = {
    "result_mastery": (
        {
            "position": int,
            "root_account": str,
            "result_id": str,
            "valid_order": str,
            "mastery": int,
        },
        ["position"],
    ),
}


def result_mastery_row(change: StoredChange) -> dict[str, Any]:
    mastery = change.state["body"].get("mastery")
    return {
        "position": change.position,
        "root_account": change.root_account,
        "result_id": change.canvas_id,
        "valid_order": change.valid_order,
        "mastery": int(mastery) if isinstance(mastery, bool) else None,
    }


class ResultMasteryProjector:
    name = "result_mastery"

    def create_schema(self, db: sqlite_utils.Database) -> None:
        create_tables(db, RESULT_MASTERY_TABLES, [])

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        insert_rows(
            db,
            "result_mastery",
            [result_mastery_row(c) for c in changes if c.kind is EntityKind.RESULT],
        )
