"""`mastery reconcile`: the log against a Canvas Data 2 snapshot, and the backfill of what it lacks.

The whole snapshot is read (and any bad file refused) before anything is compared or
written. Backfilled results go through the replay's own ingest (validation,
fingerprints, deduplication, valid-time order) as Canvas-shaped
`learning_outcome_result_created` events (a result the log lacks) or `_updated`
events (a result whose CD2 state is newer than the log's latest version), with
`event_time` the CD2 row's `updated_at`, and metadata saying where they came from:
`producer` = `canvas-data-2-backfill`, `cd2_snapshot_at`, `cd2_source` (file:line),
`backfilled_at`. A live event of the same result that is newer wins, by valid time,
whenever it arrives. Backfilling again appends nothing (the same events are duplicates).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from projections.provenance import BACKFILL_PRODUCER
from projections.reconcile import (
    CompareRow,
    compare_ids,
    compare_results,
    log_entity_states,
    log_results,
    log_root_accounts,
)
from replay.ingest.cd2 import (
    GROUPS,
    OUTCOMES,
    PROFICIENCIES,
    RESULTS,
    Cd2Row,
    SnapshotError,
    SnapshotFiles,
    scan_snapshot,
)
from replay.ingest.sources import Location, RawRecord
from replay.jobs.collector import batch_collection
from replay.jobs.pipeline import open_read_side
from replay.store.location import Store
from replay.store.quarantine import Quarantine

_OTHER_TABLES = {
    OUTCOMES: ("outcome_versions", "outcome_id"),
    GROUPS: ("outcome_group_versions", "group_id"),
    PROFICIENCIES: ("mastery_scale_versions", "proficiency_id"),
}
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass
class _Snapshot:
    """The rows compared, as compact tuples (`CompareRow`), and what the scan found."""

    found: SnapshotFiles = field(default_factory=SnapshotFiles)
    tables: dict[str, list[CompareRow]] = field(default_factory=dict)

    def rows(self, table: str) -> list[CompareRow]:
        return self.tables.get(table, [])


def reconcile_snapshot(
    store: Store, path: str, *, as_of: datetime | None, backfill: bool
) -> dict[str, Any]:
    with batch_collection():  # a row a tuple, a million of them: collect rarely
        return _reconcile(store, path, as_of=as_of, backfill=backfill)


def _reconcile(
    store: Store, path: str, *, as_of: datetime | None, backfill: bool
) -> dict[str, Any]:
    snapshot = _read(path)
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
        report["backfill"] = _backfill(store, path, report, at or as_of_text)
        after = _compare(store, snapshot, as_of_text)
        report["after_backfill"] = {"summary": after["summary"], "differs": after["differs"]}
    return report


def _fixed(text: str) -> str:
    from replay.ingest.cd2 import time_text

    return time_text(text)


def _read(path: str) -> _Snapshot:
    """The whole snapshot, read (and any bad file refused) before anything is compared;
    each row kept as the fields compared only. Rows of tables not compared are counted."""
    snapshot = _Snapshot()
    files: dict[str, str] = {}
    for table, row in scan_snapshot(path, snapshot.found):
        if table != RESULTS and table not in _OTHER_TABLES:
            continue
        values = row.values
        file, _, line = row.where.rpartition(":")
        state = values.get("workflow_state")
        snapshot.tables.setdefault(table, []).append(
            CompareRow(
                row.id,
                values.get("score"),
                values.get("possible"),
                values.get("percent"),
                values.get("mastery"),
                values.get("attempt"),
                None if state is None else sys.intern(str(state)),
                values.get("assessed_at"),
                values.get("created_at"),
                values.get("updated_at"),
                row.action == "D",
                files.setdefault(file, file),
                int(line),
            )
        )
    return snapshot


def _compare(store: Store, snapshot: _Snapshot, as_of: str) -> dict[str, Any]:
    db = open_read_side(store)
    try:
        results = compare_results(snapshot.rows(RESULTS), log_results(db, as_of), as_of)
        others = {
            table: compare_ids(
                snapshot.rows(table), log_entity_states(db, versions, column, as_of), as_of
            )
            for table, (versions, column) in _OTHER_TABLES.items()
            if snapshot.rows(table)
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


def _full_rows(path: str, wanted: set[str]) -> dict[str, Cd2Row]:
    """The whole CD2 rows of the results to backfill, by a second scan of the snapshot
    (the first kept only the compared fields); the last row of an id wins, as before."""
    rows: dict[str, Cd2Row] = {}
    for table, row in scan_snapshot(path, SnapshotFiles()):
        if table == RESULTS and row.id in wanted:
            rows[row.id] = row
    return rows


def _backfill(store: Store, path: str, report: dict[str, Any], snapshot_at: str) -> dict[str, Any]:
    """Append the missing and the newer CD2 states through the ingest path."""
    from replay.ingest.ingestor import Ingestor

    parts = ("missing_from_log", "mismatches", "deleted_in_cd2")
    wanted_ids = {item["id"] for part in parts for item in _all(report, part)}
    by_id = _full_rows(path, wanted_ids)
    db = open_read_side(store)
    try:
        roots = log_root_accounts(db)
        full = {i: r for i, r in log_results(db, report["as_of"]) if i in wanted_ids}
    finally:
        db.close()
    wanted: list[tuple[str, Cd2Row]] = []
    kept_log = 0
    for item in _all(report, "missing_from_log"):
        wanted.append(("learning_outcome_result_created", by_id[item["id"]]))
    for item in _all(report, "mismatches") + _all(report, "deleted_in_cd2"):
        row = by_id[item["id"]]
        newer = _event_time(row) > (full[item["id"]].event_time if item["id"] in full else "")
        if newer:
            wanted.append(("learning_outcome_result_updated", row))
        else:
            kept_log += 1
    made_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    records = [
        _record(name, row, roots, snapshot_at, made_at, number)
        for number, (name, row) in enumerate(wanted, start=1)
    ]
    log = store.open_log()
    quarantine = Quarantine(store.quarantine_path)
    try:
        summary = Ingestor(log, quarantine).ingest(records)
    finally:
        quarantine.close()
        log.close()
    open_read_side(store).close()  # project what was appended
    return {
        "events": len(records),
        "appended": summary.appended,
        "duplicates": summary.duplicates,
        "quarantined": summary.quarantined_total,
        "log_newer_kept": kept_log,
        "backfilled_at": made_at,
    }


def _all(report: dict[str, Any], part: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = report[part]
    return items


def _event_time(row: Cd2Row) -> str:
    values = row.values
    return str(values.get("updated_at") or values.get("created_at") or _fixed(row.ts or ""))


def _root_account(row: Cd2Row, roots: list[str]) -> str | None:
    local = row.values.get("root_account_id")
    if local is None:
        return roots[0] if len(roots) == 1 else None
    for root in roots:
        if root == local or (root.isdigit() and int(root) % 10**13 == int(local)):
            return root
    return str(local)


def _record(
    name: str, row: Cd2Row, roots: list[str], snapshot_at: str, made_at: str, number: int
) -> RawRecord:
    values = row.values
    event_time = _event_time(row)
    metadata: dict[str, Any] = {
        "event_name": name,
        "event_time": event_time[:23] + "Z",
        "producer": BACKFILL_PRODUCER,
        "root_account_id": _root_account(row, roots),
        "cd2_snapshot_at": snapshot_at,
        "cd2_source": row.where,
        "backfilled_at": made_at,
    }
    body: dict[str, Any] = {
        "id": row.id,
        "user_uuid": values.get("user_uuid"),
        "learning_outcome_id": values.get("learning_outcome_id"),
        "result_context_id": values.get("context_id"),
        "result_context_type": values.get("context_type"),
        "score": values.get("score"),
        "possible": values.get("possible"),
        "percent": values.get("percent"),
        "mastery": values.get("mastery"),
        "original_score": values.get("original_score"),
        "original_possible": values.get("original_possible"),
        "original_mastery": values.get("original_mastery"),
        "attempt": values.get("attempt"),
        "title": values.get("title"),
        "assessed_at": _iso(values.get("assessed_at")),
        "created_at": _iso(values.get("created_at")),
        "updated_at": _iso(values.get("updated_at")),
        "artifact_id": values.get("artifact_id"),
        "artifact_type": values.get("artifact_type"),
        "associated_asset_id": values.get("associated_asset_id"),
        "associated_asset_type": values.get("associated_asset_type"),
        "workflow_state": "deleted" if row.action == "D" else values.get("workflow_state"),
    }
    body = {key: value for key, value in body.items() if value is not None}
    envelope = {"metadata": metadata, "body": body}
    return RawRecord(
        Location(f"cd2-backfill:{row.where}", number), orjson.dumps(envelope), envelope, None
    )


def _iso(value: Any) -> str | None:
    """Fixed-width time text -> ISO 8601 with `Z`: seconds as Canvas sends them, or the
    fraction the CD2 row had."""
    if value is None:
        return None
    text = str(value)
    if len(text) < 19:
        return text
    fraction = text[20:26].rstrip("0") if len(text) >= 26 else ""
    return text[:19] + (f".{fraction.ljust(3, '0')}" if fraction else "") + "Z"
