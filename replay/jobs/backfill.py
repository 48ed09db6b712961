"""What `mastery reconcile --backfill` appends: Canvas-shaped events made from CD2 rows.

Each event is what a live event of the same record would have said, as far as CD2's
columns tell it, with metadata saying where it came from: `producer` =
`canvas-data-2-backfill`, `cd2_snapshot_at`, `cd2_source` (file:line), `backfilled_at`.
They go through the replay's own ingest, so validation, fingerprints, deduplication and
valid-time order are the replay's. Results are `learning_outcome_result_created` (a
result the log lacks) or `_updated` (a newer CD2 state), at the row's `updated_at`;
outcomes, groups and mastery scales the log lacks are `*_created` at the row's
`created_at` (the record existed since then; its state is CD2's current one), so that
the rollups of results that need them have their calculation method and scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from domain.ids import same_local_id
from projections.provenance import BACKFILL_PRODUCER
from replay.ingest.cd2 import GROUPS, OUTCOMES, PROFICIENCIES, Cd2Row, SnapshotError
from replay.ingest.cd2_values import time_text
from replay.ingest.sources import Location, RawRecord

ENTITY_EVENTS = {
    OUTCOMES: "learning_outcome_created",
    GROUPS: "learning_outcome_group_created",
    PROFICIENCIES: "outcome_proficiency_created",
}
"""The event that brings each kind of record the log lacks into it."""

_RESULT_COLUMNS = (
    "score",
    "possible",
    "percent",
    "mastery",
    "original_score",
    "original_possible",
    "original_mastery",
    "attempt",
    "title",
    "assessed_at",
    "created_at",
    "updated_at",
    "artifact_id",
    "artifact_type",
    "associated_asset_id",
    "associated_asset_type",
)


@dataclass
class Provenance:
    """What every backfilled event says of where it came from, and the log's root accounts."""

    snapshot_at: str
    made_at: str
    roots: list[str] = field(default_factory=list)


def result_record(
    name: str, row: Cd2Row, user_uuid: str | None, origin: Provenance, number: int
) -> RawRecord:
    """A result event; `user_uuid` is the student as live events name them (see README)."""
    values = row.values
    body: dict[str, Any] = {
        "id": row.id,
        "user_uuid": user_uuid,
        "learning_outcome_id": values.get("learning_outcome_id"),
        "result_context_id": values.get("context_id"),
        "result_context_type": values.get("context_type"),
    }
    for column in _RESULT_COLUMNS:  # in the order the first backfills wrote them
        body[column] = _iso(values.get(column)) if column.endswith("_at") else values.get(column)
    body["workflow_state"] = "deleted" if row.action == "D" else values.get("workflow_state")
    return _record(name, row, event_time(row), body, origin, number)


def entity_record(
    table: str,
    row: Cd2Row,
    ratings: list[Cd2Row],
    origin: Provenance,
    *,
    created: bool = True,
) -> RawRecord:
    """An outcome, group or mastery scale (with its `ratings`): created at CD2's
    `created_at` when the log lacks it, else updated at `updated_at` (a deletion the log
    missed; a newer live event still wins by valid time)."""
    values = row.values
    body: dict[str, Any] = {
        "context_type": values.get("context_type"),
        "context_id": values.get("context_id"),
        "workflow_state": "deleted" if row.action == "D" else values.get("workflow_state"),
        "updated_at": _iso(values.get("updated_at")),
    }
    if table == OUTCOMES:
        body |= _outcome(row)
    elif table == GROUPS:
        body |= {
            "learning_outcome_group_id": row.id,
            "parent_outcome_group_id": values.get("learning_outcome_group_id"),
            "title": values.get("title"),
            "description": values.get("description"),
            "vendor_guid": values.get("vendor_guid"),
        }
    else:
        body |= {"outcome_proficiency_id": row.id, "outcome_proficiency_ratings": _ratings(ratings)}
    if created:
        when = str(values.get("created_at") or event_time(row))
        return _record(ENTITY_EVENTS[table], row, when, body, origin, 0)
    name = ENTITY_EVENTS[table].removesuffix("_created") + "_updated"
    return _record(name, row, event_time(row), body, origin, 0)


def _outcome(row: Cd2Row) -> dict[str, Any]:
    values = row.values
    return {
        "learning_outcome_id": row.id,
        "title": values.get("short_description"),
        "short_description": values.get("short_description"),
        "display_name": values.get("display_name"),
        "description": values.get("description"),
        "vendor_guid": values.get("vendor_guid"),
        "calculation_method": values.get("calculation_method"),
        "calculation_int": values.get("calculation_int"),
        "rubric_criterion": rubric_criterion(row),
    }


def rubric_criterion(row: Cd2Row) -> dict[str, Any] | None:
    """The outcome's own rubric criterion (points, mastery points, ratings) from CD2's
    `data` column: Canvas keeps it there as `{rubric_criterion: {...}}`. Whether CD2 gives
    `data` as an object or as JSON text is not confirmed: both are read."""
    data = row.values.get("data")
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise SnapshotError(f"{row.where}: learning_outcomes.data is not JSON") from None
    if not isinstance(data, dict):
        return None
    criterion = data.get("rubric_criterion", data if "ratings" in data else None)
    return criterion if isinstance(criterion, dict) else None


def _ratings(rows: list[Cd2Row]) -> list[dict[str, Any]]:
    """A scale's ratings, highest points first (Canvas's order of them)."""
    kept = [
        row for row in rows if row.action != "D" and row.values.get("workflow_state") != "deleted"
    ]
    kept.sort(key=lambda row: (-float(row.values.get("points") or 0.0), int(row.id)))
    ratings = [
        {
            "outcome_proficiency_rating_id": row.id,
            "description": row.values.get("description"),
            "points": row.values.get("points"),
            "mastery": row.values.get("mastery"),
            "color": row.values.get("color"),
            "workflow_state": row.values.get("workflow_state") or "active",
        }
        for row in kept
    ]
    return ratings


def rating_owner(row: Cd2Row) -> str | None:
    """The mastery scale a row of `outcome_proficiency_ratings` belongs to."""
    owner = row.values.get("outcome_proficiency_id")
    return None if owner is None else str(owner)


def event_time(row: Cd2Row) -> str:
    values = row.values
    return str(values.get("updated_at") or values.get("created_at") or time_text(row.ts or ""))


def _root_account(row: Cd2Row, roots: list[str]) -> str | None:
    local = row.values.get("root_account_id")
    if local is None:
        return roots[0] if len(roots) == 1 else None
    for root in roots:
        if same_local_id(root, str(local)):
            return root
    return str(local)


def _record(
    name: str, row: Cd2Row, when: str, body: dict[str, Any], origin: Provenance, number: int
) -> RawRecord:
    metadata: dict[str, Any] = {
        "event_name": name,
        "event_time": when[:23] + "Z",
        "producer": BACKFILL_PRODUCER,
        "root_account_id": _root_account(row, origin.roots),
        "cd2_snapshot_at": origin.snapshot_at,
        "cd2_source": row.where,
        "backfilled_at": origin.made_at,
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
