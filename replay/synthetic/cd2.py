"""The Canvas Data 2 snapshot of a generated world, in the files Instructure's `dap` writes.

Canvas Data 2 holds the current state of each record: for a generated world, the
latest version (by event_time, a create before an update) of every result and
outcome, whatever the dump later loses. The files are what `dap snapshot --format
jsonl` (gzip-compressed JSON lines `{"key": {...}, "value": {...}, "meta": {...}}`,
null values omitted) or `--format csv` (a header of `meta.ts`, `key.id`, `value.*`,
NULL as an unquoted `NULL`) writes, in part files of at most `PART_ROWS` rows, one
directory per table. Ids are numbers, as in CD2; `root_account_id` is the local id.

What CD2 has that live events cannot give (a numeric `user_id`) is left out; the
student is named by `user_uuid` (see README: "Reconciliation with Canvas Data 2").
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

Event = dict[str, Any]

PART_ROWS = 100_000

RESULT_COLUMNS = (
    "root_account_id",
    "user_uuid",
    "context_id",
    "context_type",
    "learning_outcome_id",
    "associated_asset_id",
    "associated_asset_type",
    "artifact_id",
    "artifact_type",
    "score",
    "possible",
    "mastery",
    "attempt",
    "original_score",
    "original_possible",
    "original_mastery",
    "percent",
    "assessed_at",
    "submitted_at",
    "title",
    "hide_points",
    "hidden",
    "workflow_state",
    "created_at",
    "updated_at",
)
OUTCOME_COLUMNS = (
    "root_account_id",
    "context_id",
    "context_type",
    "short_description",
    "display_name",
    "description",
    "vendor_guid",
    "calculation_method",
    "calculation_int",
    "workflow_state",
    "created_at",
    "updated_at",
)
_ID_COLUMNS = frozenset(
    {"root_account_id", "context_id", "learning_outcome_id", "associated_asset_id", "artifact_id"}
)


@dataclass
class SnapshotBuilder:
    """Folds a complete stream of events into the current state of each record."""

    results: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    outcomes: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    at: str = ""

    def add(self, event: Event) -> None:
        metadata, body = event["metadata"], event["body"]
        name, when = str(metadata["event_name"]), str(metadata["event_time"])
        self.at = max(self.at, when)
        if name.startswith("learning_outcome_result_"):
            table, key = self.results, body.get("id")
        elif name.startswith("learning_outcome_") and name.count("_") == 2:
            table, key = self.outcomes, body.get("learning_outcome_id")
        else:
            return
        if key is None:  # a legacy result: no id to join on, as CD2 would have
            return
        order = (when, 0 if name.endswith("_created") else 1)
        identity = int(key)
        held = table.get(identity)
        if held is None or order > held[0]:
            table[identity] = (order, event)

    def result_rows(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        for identity in sorted(self.results):
            (when, _), event = self.results[identity]
            body = event["body"]
            value = {
                "root_account_id": _local(event["metadata"].get("root_account_id")),
                "user_uuid": body.get("user_uuid"),
                "context_id": body.get("result_context_id"),
                "context_type": body.get("result_context_type"),
                "hide_points": False,
                "hidden": False,
                "submitted_at": body.get("artifact_updated_at"),
                "updated_at": body.get("updated_at") or _seconds(when),
                "workflow_state": body.get("workflow_state") or "active",
            }
            for column in RESULT_COLUMNS:
                if column not in value:
                    value[column] = body.get(column)
            yield identity, when, _typed(value)

    def outcome_rows(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        for identity in sorted(self.outcomes):
            (when, _), event = self.outcomes[identity]
            body = event["body"]
            value = {
                "root_account_id": _local(event["metadata"].get("root_account_id")),
                "updated_at": body.get("updated_at") or _seconds(when),
                "created_at": body.get("created_at"),
                "workflow_state": body.get("workflow_state") or "active",
            }
            for column in OUTCOME_COLUMNS:
                if column not in value:
                    value[column] = body.get(column)
            yield identity, when, _typed(value)


def _local(value: Any) -> int | None:
    return None if value is None else int(value) % 10**13


def _seconds(event_time: str) -> str:
    return event_time[:19] + "Z"


def _typed(value: dict[str, Any]) -> dict[str, Any]:
    """Ids as numbers, as CD2 has them."""
    for column in _ID_COLUMNS:
        if value.get(column) is not None:
            value[column] = int(value[column])
    return value


def write_snapshot(builder: SnapshotBuilder, directory: Path, fmt: str = "jsonl") -> list[Path]:
    """Write `learning_outcome_results/` and `learning_outcomes/` under `directory`."""
    written = []
    for table, rows, columns in (
        ("learning_outcome_results", builder.result_rows(), RESULT_COLUMNS),
        ("learning_outcomes", builder.outcome_rows(), OUTCOME_COLUMNS),
    ):
        written += _write_table(directory / table, table, rows, columns, fmt)
    return written


def _write_table(
    directory: Path,
    table: str,
    rows: Iterable[tuple[int, str, dict[str, Any]]],
    columns: tuple[str, ...],
    fmt: str,
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    part: list[tuple[int, str, dict[str, Any]]] = []
    for row in rows:
        part.append(row)
        if len(part) >= PART_ROWS:
            written.append(_write_part(directory, table, len(written), part, columns, fmt))
            part = []
    if part or not written:
        written.append(_write_part(directory, table, len(written), part, columns, fmt))
    return written


def _write_part(
    directory: Path,
    table: str,
    number: int,
    rows: list[tuple[int, str, dict[str, Any]]],
    columns: tuple[str, ...],
    fmt: str,
) -> Path:
    tag = hashlib.blake2b(f"{table}/{number}".encode(), digest_size=16).hexdigest()
    suffix = "json.gz" if fmt == "jsonl" else "csv.gz"
    path = directory / f"part-{number:05d}-{tag[:8]}-{tag[8:12]}-{tag[12:16]}-c000.{suffix}"
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as target,
    ):
        if fmt == "jsonl":
            for identity, when, value in rows:
                record = {
                    "key": {"id": identity},
                    "value": {k: v for k, v in value.items() if v is not None},
                    "meta": {"ts": when, "action": "U"},
                }
                target.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        else:
            text = io.TextIOWrapper(target, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["meta.ts", "key.id", *(f"value.{c}" for c in columns)])
            for identity, when, value in rows:
                writer.writerow([when, identity, *(_csv_cell(value.get(c)) for c in columns)])
            text.flush()
            text.detach()
    return path


def _csv_cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
