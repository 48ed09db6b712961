"""Rollups from result versions: one function for the live table and for the past.

The incremental path, `mastery rebuild` and every `--as-of` question all compute a
rollup the same way: take each result in its latest version at the moment asked
(a window over `result_versions`, or for many keys at once one scan of them), resolve
the settings in force at that moment, and hand both to the pure domain rules. Sharing
the path is what makes "rebuild equals incremental" and "as of now equals current"
true by construction.
"""

from __future__ import annotations

import gc
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlite_utils

from domain.rollup import (
    QUIZ_SUBMISSION,
    SCORE,
    Rollup,
    RollupRules,
    ScoredResult,
    moment_seconds,
    rollup_of,
    rules_for,
)
from projections.rows import time_text
from projections.settings import NOW, Moment, SettingsResolver

ROLLUP_KEY_COLUMNS = ("root_account", "user_uuid", "outcome_id", "context_type", "context_id")
"""A rollup's key: these columns, in this order (a `RollupKey`). Every table with a
rollup's key has them; a row that selects them first (`ROLLUP_KEY_SQL`) is sliced
into its key, `row[:5]`, and keys sort in this order (the order of every answer)."""

RollupKey = tuple[str, str, str, str, str]
"""The values of `ROLLUP_KEY_COLUMNS`: (root_account, user_uuid, outcome_id,
context_type, context_id)."""

ROLLUP_KEY_SQL = ", ".join(ROLLUP_KEY_COLUMNS)
ROLLUP_KEY_MATCH = " AND ".join(f"{column} = ?" for column in ROLLUP_KEY_COLUMNS)
"""A WHERE clause that one `RollupKey`'s values fill."""


def rollup_key_columns(table: str) -> str:
    """`ROLLUP_KEY_SQL` of a table named in a join, e.g. `r.root_account, r.user_uuid, ...`."""
    return ", ".join(f"{table}.{column}" for column in ROLLUP_KEY_COLUMNS)


VERSION_FIELDS = (
    *ROLLUP_KEY_COLUMNS,
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
ROLLUP_COLUMNS = ", ".join(f"r.{column}" for column in VERSION_FIELDS)
"""What a rollup needs of a result version (not the whole row: memory), in this order:
rows are read by position (`Row`), the rollup key first."""

Row = Sequence[Any]
"""A result version as ROLLUP_COLUMNS selects it: a tuple or an `sqlite3.Row`."""


Scanned = tuple[Any, ...]
"""A result version as the rules first read it, before it is known to count: a
`ScoredResult`'s first seven fields (`RESULT_ID` to `ASSET_ID`: see domain/rollup.py),
then `ASSESSED_AT` (text), `VALID_ORDER` and `DELETED`. `projections.grid_scan` reads
versions so from SQLite; `_as_scanned` lays out a `Row` so. A plain tuple, as a
`ScoredResult` is, for the same reason."""

ASSESSED_AT: Final = 7
VALID_ORDER: Final = 8
DELETED: Final = 9


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
) -> dict[RollupKey, list[Row]]:
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
        f"SELECT {', '.join(VERSION_FIELDS)} FROM (SELECT r.*, ROW_NUMBER() OVER ("
        "PARTITION BY r.root_account, r.result_id ORDER BY r.valid_order DESC) AS version_rank "
        "FROM candidates c JOIN result_versions r "
        "ON r.root_account = c.root_account AND r.result_id = c.result_id "
        "WHERE r.event_time <= ? AND r.recorded_at <= ?) "
        f"WHERE version_rank = 1 AND ({where}) AND {attributable}"
    )
    arguments = [*params, moment.valid, moment.known, *params]
    grouped: dict[RollupKey, list[Row]] = defaultdict(list)
    for row in db.execute(sql, arguments):
        grouped[row[:5]].append(row)
    return grouped


def _scored(rows: Sequence[Scanned], times: Moments) -> list[ScoredResult] | None:
    """The results that count, from rows laid out as `Scanned`.

    None when every result is deleted: the key has no rollup at all.
    """
    kept: list[ScoredResult] = []
    present = False
    for row in rows:
        if row[DELETED]:
            continue
        present = True
        if row[SCORE] is not None:
            kept.append(scored_version(row, times))
    return kept if present else None


def scored_version(version: Scanned, times: Moments) -> ScoredResult:
    """A version that counts (not deleted, with a score), as the rules read it: its
    first seven fields, then its assessed_at as `Moments` gives it."""
    return version[:ASSESSED_AT] + times[version[ASSESSED_AT]]


def moment_of(text: str | None) -> tuple[datetime | None, int]:
    moment = datetime.fromisoformat(text) if text else None
    return moment, moment_seconds(moment)


class Moments(dict[str | None, tuple[datetime | None, int]]):
    """Each assessed_at text parsed once (one assessment is often several results)."""

    def __missing__(self, text: str | None) -> tuple[datetime | None, int]:
        found = self[text] = moment_of(text)
        return found


@contextmanager
def one_snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """Several reads of one state of the database (a read transaction), unless in one.

    The cyclic garbage collector is paused meanwhile: a course grid makes hundreds of
    thousands of tuples, none in a cycle, and collections would only cost time.
    """
    collecting = gc.isenabled()
    gc.disable()
    began = not db.conn.in_transaction
    try:
        if began:
            db.execute("BEGIN")
        try:
            yield
        finally:
            if began:
                db.execute("COMMIT")
    finally:
        if collecting:
            gc.enable()


def score_rows(grouped: dict[RollupKey, list[Row]]) -> dict[RollupKey, list[ScoredResult]]:
    """Per key, the results that count, from rows as `ROLLUP_COLUMNS` selects them."""
    scored: dict[RollupKey, list[ScoredResult]] = {}
    times = Moments()
    for key, rows in grouped.items():
        kept = _scored([_as_scanned(row) for row in rows], times)
        if kept is not None:
            scored[key] = kept
    return scored


def _as_scanned(row: Row) -> Scanned:
    return (
        row[5],
        row[8],
        row[9],
        row[10],
        row[12] == QUIZ_SUBMISSION,
        row[13],
        row[14],
        row[11],
        row[6],
        row[7] == "deleted",
    )


def rollup_records(
    scored: dict[RollupKey, list[ScoredResult]],
    resolver: SettingsResolver,
    *,
    across_courses: bool = False,
) -> list[RollupRecord]:
    """The rollup of every key given, in key order, under the settings in force."""
    if across_courses:
        scored = _merge_courses(scored)
    rules: dict[tuple[str, str, str, str], RollupRules] = {}
    records = []
    for key in sorted(scored):
        root_account, _, outcome_id, context_type, context_id = key
        found = rules.get((root_account, outcome_id, context_type, context_id))
        if found is None:
            if across_courses:
                settings = resolver.outcome_settings(root_account, outcome_id)
            else:
                settings = resolver.settings_for(root_account, outcome_id, context_type, context_id)
            found = rules_for(settings)
            rules[(root_account, outcome_id, context_type, context_id)] = found
        records.append(RollupRecord(key, rollup_of(scored[key], found)))
    return records


def compute_rollups(
    grouped: dict[RollupKey, list[Row]],
    resolver: SettingsResolver,
    *,
    across_courses: bool = False,
) -> list[RollupRecord]:
    """Rollups of every key that has at least one result not deleted."""
    return rollup_records(score_rows(grouped), resolver, across_courses=across_courses)


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
    db.execute(f"CREATE TEMP TABLE IF NOT EXISTS wanted_keys ({ROLLUP_KEY_SQL})")
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
    scored: dict[RollupKey, list[ScoredResult]],
) -> dict[RollupKey, list[ScoredResult]]:
    merged: dict[RollupKey, list[ScoredResult]] = defaultdict(list)
    for (root_account, user_uuid, outcome_id, _, _), kept in scored.items():
        merged[(root_account, user_uuid, outcome_id, "", "")].extend(kept)
    return merged
