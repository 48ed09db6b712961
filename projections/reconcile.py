"""The log's state as of a time, compared with Canvas Data 2's rows of the same records.

CD2 holds the current state of each record; the log holds every version it was told
of. As of the snapshot's time, each result the log knows should be in CD2 with the
same fields, and each CD2 result should be in the log. The comparison is pure
(`compare_results`, `compare_ids`); the SQL here only reads the version tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlite_utils

RESULT_FIELDS = (
    "score",
    "possible",
    "percent",
    "mastery",
    "attempt",
    "workflow_state",
    "assessed_at",
)
"""The fields compared, as the issue and Canvas's rollups care about them."""


class CompareRow(NamedTuple):
    """A CD2 row as the comparison needs it, and nothing more (replay/jobs/reconcile.py
    makes them): a tuple, about a tenth of the row as parsed, so that a snapshot of
    hundreds of thousands of results fits in memory."""

    id: str
    score: Any
    possible: Any
    percent: Any
    mastery: Any
    attempt: Any
    workflow_state: str | None
    assessed_at: str | None
    created_at: str | None
    updated_at: str | None
    deleted: bool
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def value(self, name: str) -> Any:
        return self[_ROW_INDEX[name]]


_ROW_INDEX = {name: index for index, name in enumerate(CompareRow._fields)}


class LogResult(NamedTuple):
    """A result's latest version as of the time asked, as the comparison needs it; its
    fields 1-7 are `CompareRow`'s 1-7, `RESULT_FIELDS` in order."""

    root_account: str
    score: Any
    possible: Any
    percent: Any
    mastery: Any
    attempt: Any
    workflow_state: str | None
    assessed_at: str | None
    event_time: str

    def value(self, name: str) -> Any:
        return self[_LOG_INDEX[name]]


_LOG_INDEX = {name: index for index, name in enumerate(LogResult._fields)}
assert CompareRow._fields[1:8] == LogResult._fields[1:8] == RESULT_FIELDS


def log_results(db: sqlite_utils.Database, as_of: str) -> Iterator[tuple[str, LogResult]]:
    """Each result's latest version with `event_time <= as_of` (not legacy), in result id
    order, one per id (of two root accounts sharing an id, the first in text order).

    Streamed, to be merged with the CD2 rows sorted alike (`compare_results`): nothing
    of the log is held whole."""
    rows = db.execute(
        "SELECT result_id, root_account, score, possible, percent, mastery, attempt, "
        "workflow_state, assessed_at, event_time FROM ("
        "  SELECT result_id, root_account, score, possible, percent, mastery, attempt, "
        "    workflow_state, assessed_at, event_time, ROW_NUMBER() OVER ("
        "    PARTITION BY result_id, root_account ORDER BY valid_order DESC) AS n "
        "  FROM result_versions WHERE event_time <= ? AND COALESCE(legacy, 0) = 0"
        ") WHERE n = 1 ORDER BY result_id, root_account",
        [as_of],
    )
    last = None
    for result_id, root, score, possible, percent, mastery, attempt, state, *times in rows:
        if result_id != last:
            last = result_id
            yield (
                result_id,
                LogResult(root, score, possible, percent, mastery, attempt, state, *times),
            )


def log_entity_states(
    db: sqlite_utils.Database, table: str, id_column: str, as_of: str
) -> dict[str, str | None]:
    """id -> workflow_state of each entity's latest version as of `as_of`."""
    rows = db.execute(
        f"SELECT {id_column}, workflow_state FROM ("
        f"  SELECT {id_column}, workflow_state, ROW_NUMBER() OVER (PARTITION BY root_account, "
        f"    {id_column} ORDER BY valid_order DESC) AS n FROM {table} WHERE event_time <= ?"
        ") WHERE n = 1",
        [as_of],
    )
    return {str(identity): state for identity, state in rows}


def log_result_users(db: sqlite_utils.Database, result_ids: Iterable[str]) -> dict[str, str]:
    """The student (`user_uuid`) of each of these results that the log has: a CD2 row
    naming its student by `user_id` only is backfilled with the log's uuid for them."""
    found: dict[str, str] = {}
    wanted = sorted(set(result_ids))
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        found.update(
            db.execute(
                "SELECT result_id, user_uuid FROM result_versions WHERE user_uuid IS NOT NULL "
                f"AND result_id IN ({', '.join('?' * len(part))})",
                part,
            ).fetchall()
        )
    return found


def log_root_accounts(db: sqlite_utils.Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT DISTINCT root_account FROM result_versions")]


@dataclass
class ResultComparison:
    compared: int = 0
    missing_from_log: list[dict[str, Any]] = field(default_factory=list)
    not_in_cd2: list[dict[str, Any]] = field(default_factory=list)
    deleted_in_cd2: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    after_as_of: int = 0

    @property
    def differs(self) -> bool:
        return bool(
            self.missing_from_log or self.not_in_cd2 or self.deleted_in_cd2 or self.mismatches
        )

    def summary(self) -> dict[str, Any]:
        by_field: dict[str, int] = {}
        for mismatch in self.mismatches:
            for name in mismatch["fields"]:
                by_field[name] = by_field.get(name, 0) + 1
        return {
            "cd2_results_compared": self.compared,
            "missing_from_log": len(self.missing_from_log),
            "not_in_cd2": len(self.not_in_cd2),
            "deleted_in_cd2": len(self.deleted_in_cd2),
            "mismatched": len(self.mismatches),
            "mismatched_by_field": dict(sorted(by_field.items())),
            "cd2_rows_after_as_of": self.after_as_of,
        }


def _same(name: str, log_value: Any, cd2_value: Any) -> bool:
    if name == "workflow_state":
        return (log_value or "active") == (cd2_value or "active")
    if name == "mastery":
        log_flag = None if log_value is None else bool(log_value)
        cd2_flag = None if cd2_value is None else bool(cd2_value)
        return log_flag == cd2_flag
    if name == "assessed_at":
        return (log_value or "")[:19] == (cd2_value or "")[:19]
    if log_value is None or cd2_value is None:
        return log_value is None and cd2_value is None
    if isinstance(log_value, int | float) and isinstance(cd2_value, int | float):
        return abs(float(log_value) - float(cd2_value)) <= 1e-9 * max(1.0, abs(float(log_value)))
    return bool(log_value == cd2_value)


def compare_results(
    cd2: Iterable[CompareRow], log: Iterable[tuple[str, LogResult]], as_of: str
) -> ResultComparison:
    """Join on the result id; CD2 rows created after `as_of` are left out (and counted).

    Both sides come in result id order, text order (`log_results`, and the staged CD2
    rows of `projections.reconcile_stage`), and are merged as they stream: neither is
    held whole, only what differs."""
    found = ResultComparison()
    compared = _before(found, cd2, as_of)
    for cd2_row, identity, mine in _merged(compared, log):
        if cd2_row is None:
            if (mine.workflow_state or "active") != "deleted":
                found.not_in_cd2.append({"id": identity, "root_account": mine.root_account})
        else:
            found.compared += 1
            _compare_one(found, cd2_row, mine, as_of)
    found.missing_from_log.sort(key=lambda item: _id_order(item["id"]))
    found.not_in_cd2.sort(key=lambda item: _id_order(item["id"]))
    found.deleted_in_cd2.sort(key=lambda item: _id_order(item["id"]))
    found.mismatches.sort(key=lambda item: _id_order(item["id"]))
    return found


def _before(
    found: ResultComparison, rows: Iterable[CompareRow], as_of: str
) -> Iterator[CompareRow]:
    """The rows created by `as_of`; the others counted in `found.after_as_of`."""
    for row in rows:
        if row.created_at is not None and row.created_at > as_of:
            found.after_as_of += 1
        else:
            yield row


def _merged(
    rows: Iterable[CompareRow], log: Iterable[tuple[str, LogResult]]
) -> Iterator[tuple[CompareRow | None, str, Any]]:
    """Both sides in id order, merged: (CD2 row, id, the log's result or None) for each
    CD2 row, (None, id, the log's result) for each result no CD2 row has."""
    entries = iter(log)
    current = next(entries, None)
    matched = False
    for row in rows:
        while current is not None and current[0] < row.id:
            if not matched:
                yield None, current[0], current[1]
            current, matched = next(entries, None), False
        if current is not None and current[0] == row.id:
            matched = True
            yield row, row.id, current[1]
        else:
            yield row, row.id, None
    while current is not None:
        if not matched:
            yield None, current[0], current[1]
        current, matched = next(entries, None), False


def _compare_one(
    found: ResultComparison, row: CompareRow, mine: LogResult | None, as_of: str
) -> None:
    state = "deleted" if row.deleted else row.workflow_state
    if mine is None:
        found.missing_from_log.append(
            {"id": row.id, "where": row.where, "workflow_state": state or "active"}
        )
        return
    if row.updated_at is not None and row.updated_at > as_of:
        return  # CD2 has a state later than as_of: nothing to compare it with
    if state == "deleted" and (mine.workflow_state or "active") != "deleted":
        found.deleted_in_cd2.append({"id": row.id, "where": row.where})
        return
    if not row.deleted and row[1:8] == mine[1:8]:
        return  # the fields compared, equal as they are (the rules below only loosen)
    differing = {
        name: {
            "log": mine.value(name),
            "cd2": state if name == "workflow_state" else row.value(name),
        }
        for name in RESULT_FIELDS
        if not _same(name, mine.value(name), state if name == "workflow_state" else row.value(name))
    }
    if differing:
        found.mismatches.append(
            {
                "id": row.id,
                "where": row.where,
                "fields": differing,
                "log_event_time": mine.event_time,
            }
        )


def compare_ids(
    cd2: Iterable[CompareRow], log: Mapping[str, str | None], as_of: str
) -> dict[str, Any]:
    """For the other tables: which ids one side lacks, and deletions they disagree on."""
    missing, differs, seen = [], [], set()
    for row in cd2:
        created = row.created_at
        if created is not None and created > as_of:
            continue
        seen.add(row.id)
        state = "deleted" if row.deleted else (row.workflow_state or "active")
        if row.id not in log:
            missing.append(row.id)
        elif (log[row.id] or "active") != state and (row.updated_at or "") <= as_of:
            differs.append({"id": row.id, "log": log[row.id] or "active", "cd2": state})
    not_in_cd2 = [i for i, state in log.items() if i not in seen and state != "deleted"]
    return {
        "cd2_rows": len(seen),
        "missing_from_log": sorted(missing, key=_id_order),
        "not_in_cd2": sorted(not_in_cd2, key=_id_order),
        "workflow_state_differs": sorted(differs, key=lambda item: _id_order(item["id"])),
    }


def _id_order(identity: str) -> tuple[int, str]:
    return (int(identity), "") if identity.isdigit() else (1 << 62, identity)
