"""The Canvas Data 2 snapshot of a generated world, in the files Instructure's `dap` writes.

Canvas Data 2 holds the current state of each record: for a generated world, the
latest version (by event_time, a create before an update) of every result, outcome,
group and mastery scale, whatever the dump later loses. The files are what `dap snapshot --format
jsonl` (gzip-compressed JSON lines `{"key": {...}, "value": {...}, "meta": {...}}`,
null values omitted) or `--format csv` (a header of `meta.ts`, `key.id`, `value.*`,
NULL as an unquoted `NULL`) writes, in part files of at most `PART_ROWS` rows, one
directory per table. Ids are numbers, as in CD2; `root_account_id` is the local id.

Tables: results, outcomes (their rubric criterion in `data`), groups, mastery scales and
their ratings. Live events never give a student's numeric id: by default results name
the student by `user_uuid`; with `user_ids` by a numeric `user_id` made up here, beside
a `users` table mapping it to the uuid (README: "Which student: `user_uuid` or `user_id`").
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

from domain.ids import SHARD_FACTOR

Event = dict[str, Any]

PART_ROWS = 100_000
FIRST_USER_ID = 50_000
"""The first numeric id given to a student in a snapshot that names students by `user_id`."""

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
RESULT_ID_COLUMNS = tuple("user_id" if c == "user_uuid" else c for c in RESULT_COLUMNS)
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
    "data",
    "workflow_state",
    "created_at",
    "updated_at",
)
GROUP_COLUMNS = (
    "root_account_id",
    "context_id",
    "context_type",
    "title",
    "description",
    "vendor_guid",
    "learning_outcome_group_id",
    "workflow_state",
    "created_at",
    "updated_at",
)
SCALE_COLUMNS = (
    "root_account_id",
    "context_id",
    "context_type",
    "workflow_state",
    "created_at",
    "updated_at",
)
RATING_COLUMNS = (
    "root_account_id",
    "outcome_proficiency_id",
    "description",
    "points",
    "mastery",
    "color",
    "workflow_state",
    "created_at",
    "updated_at",
)
USER_COLUMNS = ("uuid", "name", "sortable_name", "workflow_state")
_TABLES = {
    "learning_outcome_result": ("results", "id"),
    "learning_outcome": ("outcomes", "learning_outcome_id"),
    "learning_outcome_group": ("groups", "learning_outcome_group_id"),
    "outcome_proficiency": ("scales", "outcome_proficiency_id"),
}
"""Event name without its verb -> the builder's table and the body's id."""
_ID_COLUMNS = frozenset(
    {
        "root_account_id",
        "context_id",
        "learning_outcome_id",
        "associated_asset_id",
        "artifact_id",
        "learning_outcome_group_id",
        "outcome_proficiency_id",
    }
)


@dataclass
class SnapshotBuilder:
    """Folds a complete stream of events into the current state of each record."""

    results: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    outcomes: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    groups: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    scales: dict[int, tuple[tuple[str, int], Event]] = field(default_factory=dict)
    created: dict[tuple[str, int], str] = field(default_factory=dict)
    """(kind, id) -> the time of the record's first event (not results'): CD2's created_at."""
    users: dict[str, int] = field(default_factory=dict)
    at: str = ""

    def add(self, event: Event) -> None:
        metadata, body = event["metadata"], event["body"]
        name, when = str(metadata["event_name"]), str(metadata["event_time"])
        self.at = max(self.at, when)
        kind, _, _ = name.rpartition("_")
        if kind not in _TABLES:
            return
        table, key = getattr(self, _TABLES[kind][0]), body.get(_TABLES[kind][1])
        if key is None:  # a legacy result: no id to join on, as CD2 would have
            return
        order = (when, 0 if name.endswith("_created") else 1)
        identity = int(key)
        if table is not self.results:
            first = self.created.setdefault((kind, identity), when)
            self.created[(kind, identity)] = min(first, when)
        held = table.get(identity)
        if held is None or order > held[0]:
            table[identity] = (order, event)

    def result_rows(self, user_ids: bool = False) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """Each result's current row; with `user_ids` the student is named by a numeric
        `user_id` only (as in a CD2 table without `user_uuid`; see `user_rows`)."""
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
            if user_ids:
                value["user_id"] = self.user_id(value.pop("user_uuid"))
            yield identity, when, _typed(value)

    def user_id(self, uuid: str | None) -> int | None:
        """A stable numeric id for a student's uuid (the generator names students by uuid)."""
        if uuid is None:
            return None
        return self.users.setdefault(uuid, FIRST_USER_ID + len(self.users))

    def user_rows(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """CD2's `users` rows of the students `result_rows(user_ids=True)` named."""
        for uuid, identity in sorted(self.users.items(), key=lambda item: item[1]):
            name = f"Student {identity}"
            value = {
                "uuid": uuid,
                "name": name,
                "sortable_name": name,
                "workflow_state": "registered",
            }
            yield identity, self.at, value

    def entity_rows(self, kind: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """The current rows of outcomes, groups or mastery scales (`kind` as in `_TABLES`)."""
        held = getattr(self, _TABLES[kind][0])
        for identity in sorted(held):
            (when, _), event = held[identity]
            body = event["body"]
            value = {
                "root_account_id": _local(event["metadata"].get("root_account_id")),
                "context_id": body.get("context_id"),
                "context_type": body.get("context_type"),
                "updated_at": body.get("updated_at") or _seconds(when),
                "created_at": body.get("created_at") or self.created.get((kind, identity)),
                "workflow_state": body.get("workflow_state") or "active",
            }
            if kind == "learning_outcome":
                for column in OUTCOME_COLUMNS:
                    value.setdefault(column, body.get(column))
                criterion = body.get("rubric_criterion")
                value["data"] = None if criterion is None else {"rubric_criterion": criterion}
            elif kind == "learning_outcome_group":
                value |= {
                    column: body.get(column) for column in ("title", "description", "vendor_guid")
                }
                value["learning_outcome_group_id"] = body.get("parent_outcome_group_id")
            yield identity, when, _typed(value)

    def rating_rows(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """`outcome_proficiency_ratings`: each current scale's ratings, a row each."""
        for identity, when, scale in self.entity_rows("outcome_proficiency"):
            event = self.scales[identity][1]
            for rating in event["body"].get("outcome_proficiency_ratings") or []:
                value = {
                    "root_account_id": scale["root_account_id"],
                    "outcome_proficiency_id": identity,
                    **{c: rating.get(c) for c in ("description", "points", "mastery", "color")},
                    "workflow_state": rating.get("workflow_state") or "active",
                    "created_at": scale["created_at"],
                    "updated_at": scale["updated_at"],
                }
                yield int(rating["outcome_proficiency_rating_id"]), when, value


def _local(value: Any) -> int | None:
    return None if value is None else int(value) % SHARD_FACTOR


def _seconds(event_time: str) -> str:
    return event_time[:19] + "Z"


def _typed(value: dict[str, Any]) -> dict[str, Any]:
    """Ids as numbers, as CD2 has them."""
    for column in _ID_COLUMNS:
        if value.get(column) is not None:
            value[column] = int(value[column])
    return value


def write_snapshot(
    builder: SnapshotBuilder, directory: Path, fmt: str = "jsonl", *, user_ids: bool = False
) -> list[Path]:
    """Write a directory per table under `directory`: results, outcomes, groups, mastery
    scales and their ratings; with `user_ids`, results name students by `user_id` and a
    `users` table maps those to the uuids live events carry."""
    written = []
    tables: list[tuple[str, Iterable[tuple[int, str, dict[str, Any]]], tuple[str, ...]]] = [
        (
            "learning_outcome_results",
            builder.result_rows(user_ids),
            RESULT_ID_COLUMNS if user_ids else RESULT_COLUMNS,
        ),
        ("learning_outcomes", builder.entity_rows("learning_outcome"), OUTCOME_COLUMNS),
        ("learning_outcome_groups", builder.entity_rows("learning_outcome_group"), GROUP_COLUMNS),
        ("outcome_proficiencies", builder.entity_rows("outcome_proficiency"), SCALE_COLUMNS),
        ("outcome_proficiency_ratings", builder.rating_rows(), RATING_COLUMNS),
    ]
    for table, rows, columns in tables:
        written += _write_table(directory / table, table, rows, columns, fmt)
    if user_ids:  # after the results: their rows give each student an id
        written += _write_table(
            directory / "users", "users", builder.user_rows(), USER_COLUMNS, fmt
        )
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
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return str(value)
