"""`mastery reconcile`: the log against a Canvas Data 2 snapshot, and the backfill of what it lacks.

The whole snapshot is read (and any bad file refused) before anything is compared or
written; its rows are staged on disk (`projections.reconcile_stage`), not held, so that
memory does not grow with the snapshot. Backfilled events (`replay/jobs/backfill.py`)
go through the replay's own ingest: results the log lacks or has an older state of,
and outcomes, groups and mastery scales it lacks. A live event of the same record that
is newer wins, by valid time, whenever it arrives. Backfilling again appends nothing
(the same events are duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from projections.reconcile import (
    CompareRow,
    compare_ids,
    compare_results,
    log_entity_states,
    log_result_users,
    log_results,
    log_root_accounts,
)
from projections.reconcile_stage import CompareStage
from replay.ingest.cd2 import (
    GROUPS,
    OUTCOMES,
    PROFICIENCIES,
    RATINGS,
    RESULTS,
    USERS,
    Cd2Row,
    SnapshotError,
    SnapshotFiles,
    scan_snapshot,
)
from replay.ingest.sources import RawRecord
from replay.jobs.backfill import Provenance, entity_record, event_time, rating_owner, result_record
from replay.jobs.collector import batch_collection
from replay.jobs.pipeline import open_read_side
from replay.store.location import Store
from replay.store.quarantine import Quarantine

if TYPE_CHECKING:
    from replay.ingest.ingestor import ReplaySummary

_OTHER_TABLES = {
    OUTCOMES: ("outcome_versions", "outcome_id"),
    GROUPS: ("outcome_group_versions", "group_id"),
    PROFICIENCIES: ("mastery_scale_versions", "proficiency_id"),
}
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
_READ_CACHE_KIB = 8 * 1024


@dataclass
class _Snapshot:
    """The rows compared, staged on disk (`CompareStage`), and what the scan found."""

    stage: CompareStage
    found: SnapshotFiles = field(default_factory=SnapshotFiles)


def reconcile_snapshot(
    store: Store, path: str, *, as_of: datetime | None, backfill: bool
) -> dict[str, Any]:
    with batch_collection(), CompareStage() as stage:  # a row a tuple: collect rarely
        return _reconcile(store, path, _Snapshot(stage), as_of=as_of, backfill=backfill)


def _reconcile(
    store: Store, path: str, snapshot: _Snapshot, *, as_of: datetime | None, backfill: bool
) -> dict[str, Any]:
    _read(path, snapshot)
    at = snapshot.found.at
    if as_of is None and at is None:
        raise SnapshotError(
            f"{path}: the files carry no meta.ts to take the snapshot's time from: give --as-of"
        )
    as_of_text = as_of.astimezone(UTC).strftime(_TIME) if as_of else _fixed(at or "")
    report = _compare(store, snapshot, as_of_text)
    report["snapshot"] = {
        "path": path,
        "at": at,
        "files": snapshot.found.files,
        "rows": dict(snapshot.found.counts),
        "skipped": snapshot.found.skipped,
    }
    if backfill:
        report["backfill"] = _backfill(store, path, snapshot, report, at or as_of_text)
        after = _compare(store, snapshot, as_of_text)
        report["after_backfill"] = {
            "summary": after["summary"],
            "differs": after["differs"],
            "other_tables": after["other_tables"],
        }
    return report


def _fixed(text: str) -> str:
    from replay.ingest.cd2_values import time_text

    return time_text(text)


def _read(path: str, snapshot: _Snapshot) -> None:
    """The whole snapshot, read (and any bad file refused) before anything is compared;
    each row staged as the fields compared only. Rows of tables not compared are counted."""
    files: dict[str, str] = {}
    stage = snapshot.stage
    for table, row in scan_snapshot(path, snapshot.found):
        if table == USERS and row.values.get("uuid"):
            stage.add_user(row.id, str(row.values["uuid"]))
        if table != RESULTS and table not in _OTHER_TABLES:
            continue
        values = row.values
        file, _, line = row.where.rpartition(":")
        state = values.get("workflow_state")
        stage.add(
            table,
            CompareRow(
                row.id,
                values.get("score"),
                values.get("possible"),
                values.get("percent"),
                values.get("mastery"),
                values.get("attempt"),
                None if state is None else str(state),
                values.get("assessed_at"),
                values.get("created_at"),
                values.get("updated_at"),
                row.action == "D",
                files.setdefault(file, file),
                int(line),
            ),
        )
    stage.flush()


def _read_side(store: Store) -> sqlite_utils.Database:
    """The read models, for passes in key order: a small page cache does as well there as
    the 64 MB bulk work wants, and with it (and SQLite's sorter, which spills past it)
    memory stays flat at 1M rows (207 MB with 64 MB, 93 MB with 8 MB)."""
    db = open_read_side(store)
    db.execute(f"PRAGMA cache_size=-{_READ_CACHE_KIB}")
    return db


def _compare(store: Store, snapshot: _Snapshot, as_of: str) -> dict[str, Any]:
    db = _read_side(store)
    stage = snapshot.stage
    try:
        results = compare_results(stage.rows(RESULTS), log_results(db, as_of), as_of)
        others = {
            table: compare_ids(
                stage.rows(table), log_entity_states(db, versions, column, as_of), as_of
            )
            for table, (versions, column) in _OTHER_TABLES.items()
            if stage.has(table)
        }
    finally:
        db.close()
    others_differ = any(
        part["missing_from_log"] or part["not_in_cd2"] or part["workflow_state_differs"]
        for part in others.values()
    )
    return {
        "as_of": as_of,
        "summary": results.summary(),
        "differs": results.differs or others_differ,
        "missing_from_log": results.missing_from_log,
        "not_in_cd2": results.not_in_cd2,
        "deleted_in_cd2": results.deleted_in_cd2,
        "mismatches": results.mismatches,
        "other_tables": others,
    }


@dataclass
class _FullRows:
    """The whole CD2 rows of what is to be backfilled (the first scan kept only the
    fields compared): results by id, outcomes/groups/scales by table and id, and each
    wanted scale's ratings. Only what differs is held."""

    results: dict[str, Cd2Row] = field(default_factory=dict)
    entities: dict[str, dict[str, Cd2Row]] = field(default_factory=dict)
    ratings: dict[str, list[Cd2Row]] = field(default_factory=dict)


def _full_rows(path: str, results: set[str], entities: dict[str, set[str]]) -> _FullRows:
    """A second scan of the snapshot for the wanted rows; the last row of an id wins."""
    full = _FullRows()
    scales = entities.get(PROFICIENCIES, set())
    for table, row in scan_snapshot(path, SnapshotFiles()):
        if table == RESULTS and row.id in results:
            full.results[row.id] = row
        elif row.id in entities.get(table, ()):
            full.entities.setdefault(table, {})[row.id] = row
        elif table == RATINGS and (owner := rating_owner(row)) in scales:
            full.ratings.setdefault(str(owner), []).append(row)
    return full


def _backfill(
    store: Store, path: str, snapshot: _Snapshot, report: dict[str, Any], snapshot_at: str
) -> dict[str, Any]:
    """Append the missing and the newer CD2 states through the ingest path."""
    parts = ("missing_from_log", "mismatches", "deleted_in_cd2")
    wanted_ids = {item["id"] for part in parts for item in _all(report, part)}
    entity_ids = {
        table: {*part["missing_from_log"], *(item["id"] for item in part["workflow_state_differs"])}
        for table, part in report["other_tables"].items()
    }
    full = _full_rows(path, wanted_ids, entity_ids)
    db = _read_side(store)
    try:
        roots = log_root_accounts(db)
        latest = {i: r.event_time for i, r in log_results(db, report["as_of"]) if i in wanted_ids}
        log_users = log_result_users(db, latest)
    finally:
        db.close()
    made_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    origin = Provenance(snapshot_at, made_at, roots)
    records = [
        entity_record(
            table,
            row,
            full.ratings.get(row.id, []),
            origin,
            created=row.id in report["other_tables"][table]["missing_from_log"],
        )
        for table, rows in full.entities.items()
        for row in rows.values()
    ]
    by_table = {table: len(rows) for table, rows in full.entities.items()}
    results = _result_records(report, full, snapshot.stage, log_users, latest, origin)
    records += results.records
    by_table[RESULTS] = len(results.records)
    summary = _ingest(store, records)
    return {
        "events": len(records),
        "appended": summary.appended,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined_total,
        "log_newer_kept": results.kept_log,
        "by_table": by_table,
        "without_user_uuid": len(results.without_user),
        "without_user_uuid_ids": results.without_user[:20],
        "backfilled_at": made_at,
    }


@dataclass
class _Results:
    records: list[RawRecord] = field(default_factory=list)
    kept_log: int = 0
    without_user: list[str] = field(default_factory=list)


def _result_records(
    report: dict[str, Any],
    full: _FullRows,
    stage: CompareStage,
    log_users: dict[str, str],
    latest: dict[str, str],
    origin: Provenance,
) -> _Results:
    """The result events to append. The student is the row's `user_uuid`, else the uuid
    the snapshot's `users` table gives its `user_id`, else the log's for that result; a
    result with none is not appended (it would count in no rollup) but listed."""
    made = _Results()
    wanted: list[tuple[str, Cd2Row]] = [
        ("learning_outcome_result_created", full.results[item["id"]])
        for item in _all(report, "missing_from_log")
    ]
    for item in _all(report, "mismatches") + _all(report, "deleted_in_cd2"):
        row = full.results[item["id"]]
        if event_time(row) > latest.get(item["id"], ""):
            wanted.append(("learning_outcome_result_updated", row))
        else:
            made.kept_log += 1
    users = stage.user_uuids(
        str(row.values["user_id"])
        for _, row in wanted
        if not row.values.get("user_uuid") and row.values.get("user_id") is not None
    )
    for number, (name, row) in enumerate(wanted, start=1):
        user_id = row.values.get("user_id")
        uuid = (
            row.values.get("user_uuid")
            or (None if user_id is None else users.get(str(user_id)))
            or log_users.get(row.id)
        )
        if uuid is None:
            made.without_user.append(row.id)
        else:
            made.records.append(result_record(name, row, str(uuid), origin, number))
    return made


def _ingest(store: Store, records: list[RawRecord]) -> ReplaySummary:
    from replay.ingest.ingestor import Ingestor

    log = store.open_log()
    quarantine = Quarantine(store.quarantine_path)
    try:
        summary = Ingestor(log, quarantine).ingest(records)
    finally:
        quarantine.close()
        log.close()
    open_read_side(store).close()  # project what was appended
    return summary


def _all(report: dict[str, Any], part: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = report[part]
    return items
