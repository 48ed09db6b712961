"""Rollups from result versions: one function for the live table and for the past.

The incremental path, `mastery rebuild` and every `--as-of` question all compute a
rollup the same way: take each result in its latest version at the moment asked
(a window over `result_versions`), resolve the settings in force at that moment,
and hand both to the pure domain rules. Sharing the path is what makes "rebuild
equals incremental" and "as of now equals current" true by construction.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from domain.rollup import ResultValue, Rollup, compute_rollup
from projections.rows import time_text
from projections.settings import NOW, Moment, SettingsResolver

ROLLUP_COLUMNS = ", ".join(
    f"r.{column}"
    for column in (
        "root_account",
        "user_uuid",
        "outcome_id",
        "context_type",
        "context_id",
        "result_id",
        "valid_order",
        "workflow_state",
        "score",
        "percent",
        "possible",
        "assessed_at",
        "artifact_type",
        "associated_asset_type",
        "associated_asset_id",
    )
)
"""What a rollup needs of a result version (not the whole row: memory)."""

RollupKey = tuple[str, str, str, str, str]
"""(root_account, user_uuid, outcome_id, context_type, context_id)"""

KEY_COLUMNS = ("root_account", "user_uuid", "outcome_id", "context_type", "context_id")


@dataclass(frozen=True, slots=True)
class RollupRecord:
    key: RollupKey
    rollup: Rollup

    def as_row(self) -> dict[str, Any]:
        root_account, user_uuid, outcome_id, context_type, context_id = self.key
        rollup, rating = self.rollup, self.rollup.rating
        return {
            "root_account": root_account,
            "user_uuid": user_uuid,
            "outcome_id": outcome_id,
            "context_type": context_type,
            "context_id": context_id,
            "score": rollup.score,
            "count": rollup.count,
            "mastery": None if rollup.mastery is None else int(rollup.mastery),
            "rating_description": rating.description if rating else None,
            "rating_points": rating.points if rating else None,
            "rating_color": rating.color if rating else None,
            "calculation_method": rollup.calculation_method,
            "calculation_int": rollup.calculation_int,
            "latest_assessed_at": time_text(rollup.latest_assessed_at),
        }


def latest_results(
    db: sqlite_utils.Database, where: str, params: Sequence[Any], moment: Moment
) -> dict[RollupKey, list[dict[str, Any]]]:
    """Each matching result in its latest version at `moment`, grouped by rollup key.

    A window over `result_versions`, now and in the past alike. A result belongs to
    the student, outcome and course of its latest version: in Canvas they never
    change, but ids from two systems can collide in a dump, and the answer must
    not depend on the order events were applied in. So the filter picks candidate
    results, the window runs over all their versions, and the filter applies again
    to the version that wins.
    """
    attributable = "user_uuid IS NOT NULL AND outcome_id IS NOT NULL AND context_id IS NOT NULL"
    sql = (
        "WITH candidates AS (SELECT DISTINCT root_account, result_id FROM result_versions "
        f"WHERE ({where})) "
        "SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER ("
        "PARTITION BY r.root_account, r.result_id ORDER BY r.valid_order DESC) AS version_rank "
        "FROM candidates c JOIN result_versions r "
        "ON r.root_account = c.root_account AND r.result_id = c.result_id "
        "WHERE r.event_time <= ? AND r.recorded_at <= ?) "
        f"WHERE version_rank = 1 AND ({where}) AND {attributable}"
    )
    arguments = [*params, moment.valid, moment.known, *params]
    grouped: dict[RollupKey, list[dict[str, Any]]] = defaultdict(list)
    for row in db.query(sql, arguments):
        key = (
            row["root_account"],
            row["user_uuid"],
            row["outcome_id"],
            row["context_type"],
            row["context_id"],
        )
        grouped[key].append(row)
    return grouped


def compute_rollups(
    grouped: dict[RollupKey, list[dict[str, Any]]],
    resolver: SettingsResolver,
    *,
    across_courses: bool = False,
) -> list[RollupRecord]:
    """Rollups of every key that has at least one result not deleted."""
    if across_courses:
        grouped = _merge_courses(grouped)
    records = []
    for key in sorted(grouped):
        rows = [row for row in grouped[key] if row["workflow_state"] != "deleted"]
        if not rows:
            continue
        root_account, _, outcome_id, context_type, context_id = key
        if across_courses:
            settings = resolver.outcome_settings(root_account, outcome_id)
        else:
            settings = resolver.settings_for(root_account, outcome_id, context_type, context_id)
        rollup = compute_rollup([_result_value(row) for row in rows], settings)
        records.append(RollupRecord(key, rollup))
    return records


def current_rollups_for_keys(
    db: sqlite_utils.Database,
    keys: Iterable[RollupKey],
    resolver: SettingsResolver | None = None,
) -> tuple[list[RollupRecord], set[RollupKey]]:
    """Recompute these keys now; also say which of them no longer have a rollup.

    `resolver` may be one kept from earlier batches, as long as no outcome, scale,
    method or account changed since.
    """
    wanted = sorted(set(keys))
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS wanted_keys (root_account, user_uuid, outcome_id, "
        "context_type, context_id)"
    )
    db.execute("DELETE FROM temp.wanted_keys")
    db.conn.executemany("INSERT INTO temp.wanted_keys VALUES (?, ?, ?, ?, ?)", wanted)
    latest: dict[tuple[str, str], Any] = {}
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row  # C rows, read by name: cheaper than dicts
    # A result belongs to the key of its latest version (see latest_results). The
    # key's own rows are enough unless a result has versions under several keys
    # (colliding ids: `moved_results`, usually empty): then all its versions count.
    rows = list(
        cursor.execute(
            f"SELECT {ROLLUP_COLUMNS} FROM temp.wanted_keys k JOIN result_versions r "
            "ON r.user_uuid = k.user_uuid AND r.outcome_id = k.outcome_id "
            "AND r.context_id = k.context_id AND r.root_account = k.root_account "
            "AND r.context_type = k.context_type"
        )
    )
    moved = {tuple(row) for row in db.execute("SELECT root_account, result_id FROM moved_results")}
    for result in {(row["root_account"], row["result_id"]) for row in rows} & moved:
        rows.extend(
            cursor.execute(
                f"SELECT {ROLLUP_COLUMNS} FROM result_versions r "
                "WHERE r.root_account = ? AND r.result_id = ?",
                list(result),
            )
        )
    for row in rows:
        result = (row["root_account"], row["result_id"])
        seen = latest.get(result)
        if seen is None or seen["valid_order"] < row["valid_order"]:
            latest[result] = row
    wanted_set = set(wanted)
    grouped: dict[RollupKey, list[Any]] = defaultdict(list)
    for row in latest.values():
        key = (
            row["root_account"],
            row["user_uuid"],
            row["outcome_id"],
            row["context_type"],
            row["context_id"],
        )
        if key in wanted_set:
            grouped[key].append(row)
    records = compute_rollups(grouped, resolver or SettingsResolver(db, NOW))
    gone = set(wanted) - {record.key for record in records}
    return records, gone


def _merge_courses(
    grouped: dict[RollupKey, list[dict[str, Any]]],
) -> dict[RollupKey, list[dict[str, Any]]]:
    merged: dict[RollupKey, list[dict[str, Any]]] = defaultdict(list)
    for (root_account, user_uuid, outcome_id, _, _), rows in grouped.items():
        merged[(root_account, user_uuid, outcome_id, "", "")].extend(rows)
    return merged


def _result_value(row: dict[str, Any]) -> ResultValue:
    assessed = row["assessed_at"]
    return ResultValue(
        result_id=row["result_id"],
        score=row["score"],
        percent=row["percent"],
        possible=row["possible"],
        assessed_at=datetime.fromisoformat(assessed) if assessed else None,
        artifact_type=row["artifact_type"],
        associated_asset_type=row["associated_asset_type"],
        associated_asset_id=row["associated_asset_id"],
        deleted=row["workflow_state"] == "deleted",
    )
