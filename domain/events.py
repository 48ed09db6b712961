"""From a decoded live event to a typed Canvas event, or a reason why not.

This is the one place where input is judged. Everything after it may trust what it
holds: a known Learning event, its entity's id, a UTC event time, a body whose ids
are strings and whose nulls are gone, and request metadata without personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from domain.ids import InvalidId, local_id, normalise_id, normalise_ids, shard_of
from domain.kinds import EntityKind
from domain.payloads import (
    CalculationMethodBody,
    LinkBody,
    Metadata,
    OutcomeBody,
    OutcomeGroupBody,
    ProficiencyBody,
    ResultBody,
    json_ready,
)
from domain.rejections import Refused, Rejection
from domain.validation import validate


@dataclass(frozen=True, slots=True)
class EventType:
    kind: EntityKind
    id_field: str
    body_model: type[BaseModel]


_TYPES_BY_PREFIX = {
    "learning_outcome": EventType(EntityKind.OUTCOME, "learning_outcome_id", OutcomeBody),
    "learning_outcome_group": EventType(
        EntityKind.OUTCOME_GROUP, "learning_outcome_group_id", OutcomeGroupBody
    ),
    "learning_outcome_link": EventType(EntityKind.LINK, "learning_outcome_link_id", LinkBody),
    "learning_outcome_result": EventType(EntityKind.RESULT, "id", ResultBody),
    "outcome_proficiency": EventType(
        EntityKind.PROFICIENCY, "outcome_proficiency_id", ProficiencyBody
    ),
    "outcome_calculation_method": EventType(
        EntityKind.CALCULATION_METHOD, "outcome_calculation_method_id", CalculationMethodBody
    ),
}

EVENT_TYPES: dict[str, EventType] = {
    f"{prefix}_{verb}": event_type
    for prefix, event_type in _TYPES_BY_PREFIX.items()
    for verb in ("created", "updated")
}
"""The Learning events this projector consumes, by `metadata.event_name`."""

PERSONAL_METADATA = frozenset(
    {
        "user_login",
        "user_sis_id",
        "client_ip",
        "user_agent",
        "session_id",
        "url",
        "referrer",
        "hostname",
    }
)
"""Request metadata that identifies the acting person and that mastery never needs."""

WORKFLOW_STATES = frozenset({"active", "deleted"})
"""The states Canvas's live-events reference gives these six entities (results drop out of
rollups when deleted). Any other value is refused, never read as active: "DELETED" from a
re-export would otherwise count a deleted result."""

EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CanvasEvent:
    """One Learning event, validated: what the log stores about a Canvas change."""

    name: str
    kind: EntityKind
    entity_id: str
    root_account: str
    event_time: datetime
    body: dict[str, Any]
    metadata: dict[str, Any]
    fingerprint: str
    legacy: bool = False


@dataclass(frozen=True, slots=True)
class NotLearning:
    """A well-formed event of another Canvas type: skipped, only counted."""

    name: str


def parse_event(
    envelope: Mapping[str, Any],
    *,
    now: datetime,
    keep_request_metadata: bool = False,
    assume_utc: bool = False,
) -> CanvasEvent | NotLearning | Rejection:
    """Judge one decoded envelope. `now` bounds plausible event times; `assume_utc`
    reads times without a time zone as UTC (else they are refused, with a hint).

    Each step hands the next what it needs; a step that refuses the event raises
    `Refused`, and the first refusal is the answer. Every event of a replay passes
    here, so the steps are plain calls, with no object built to chain them.
    """
    try:
        head = _read_envelope(envelope)
        if isinstance(head, NotLearning):
            return head
        name, event_type, metadata_in, body_in = head
        body_in, legacy = _identify_entity(name, event_type, body_in)
        metadata_in, body_in = _normalise_ids(name, metadata_in, body_in)
        metadata, body_model, raw_event_time = validate(
            name, event_type.body_model, metadata_in, body_in, assume_utc
        )
        event_time = _plausible_event_time(name, metadata, raw_event_time, now)
        body = json_ready(body_model)
        _check_workflow_state(name, body)
    except Refused as refused:
        return refused.rejection
    canonical_time = event_time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fingerprint = fingerprint_of(name, canonical_time, body)
    return CanvasEvent(
        name=name,
        kind=event_type.kind,
        entity_id=_entity_id(event_type, body, metadata, fingerprint),
        root_account=metadata.root_account_id or metadata.root_account_uuid or "unknown",
        event_time=event_time,
        body=body,
        metadata=_stored_metadata(metadata, canonical_time, keep_request_metadata),
        fingerprint=fingerprint,
        legacy=legacy,
    )


_Envelope = tuple[str, EventType, dict[str, Any], dict[str, Any]]
"""A Learning event's name, type, metadata and body, as they came (not validated yet)."""


def _read_envelope(envelope: Mapping[str, Any]) -> _Envelope | NotLearning:
    """The parts of a Learning event, or the other Canvas type this is: checked before any
    validation, so that another type or a malformed envelope is answered cheaply."""
    metadata_in = envelope.get("metadata")
    if not isinstance(metadata_in, dict):
        raise Refused(Rejection("missing-metadata", "the event has no 'metadata' object"))
    name = metadata_in.get("event_name")
    if name is None:
        raise Refused(Rejection("missing-event-name", "metadata.event_name is missing"))
    if not isinstance(name, str):
        raise Refused(Rejection("wrong-type", "metadata.event_name is not a string"))
    event_type = EVENT_TYPES.get(name)
    if event_type is None:
        return NotLearning(name)
    if metadata_in.get("event_time") is None:
        raise Refused(Rejection("missing-event-time", f"{name}: metadata.event_time is missing"))
    body_in = envelope.get("body")
    if not isinstance(body_in, dict):
        raise Refused(Rejection("missing-body", f"{name}: the event has no 'body' object"))
    return name, event_type, metadata_in, body_in


def _identify_entity(
    name: str, event_type: EventType, body_in: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The body and whether it is a legacy result; refused when it names no entity.
    Results are the exception: old shapes without an id are lifted, not refused (they get
    an id of their own in `_entity_id`)."""
    if event_type.kind is EntityKind.RESULT:
        return _lift_legacy_result(body_in)
    if body_in.get(event_type.id_field) is None:
        raise Refused(
            Rejection("missing-entity-id", f"{name}: body.{event_type.id_field} is missing")
        )
    return body_in, False


def _normalise_ids(
    name: str, metadata_in: dict[str, Any], body_in: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metadata and body with their ids as Canvas's id strings (domain/ids.py); refused
    with the field that holds no id, and the part it is in."""
    try:
        metadata_in = normalise_ids(metadata_in)
    except InvalidId as error:
        raise Refused(Rejection("wrong-type", f"{name}: metadata.{error}")) from None
    try:
        body_in = normalise_ids(body_in)
    except InvalidId as error:
        raise Refused(Rejection("wrong-type", f"{name}: body.{error}")) from None
    return metadata_in, body_in


def _plausible_event_time(
    name: str, metadata: Metadata, raw_event_time: Any, now: datetime
) -> datetime:
    """The event time in UTC; refused when before 2000 or in the future: a valid time so
    far off is a broken clock or a mangled export, never a Canvas change."""
    try:
        event_time = metadata.event_time.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        event_time = EARLIEST_EVENT_TIME - FUTURE_TOLERANCE
    if event_time < EARLIEST_EVENT_TIME or event_time > now + FUTURE_TOLERANCE:
        raise Refused(
            Rejection(
                "implausible-event-time",
                f"{name}: event_time {raw_event_time} is before 2000 or in the future",
            )
        )
    return event_time


def _check_workflow_state(name: str, body: Mapping[str, Any]) -> None:
    """Refuse a workflow_state that is not one of Canvas's: the projections would read
    any other value as active (see WORKFLOW_STATES)."""
    state = body.get("workflow_state")
    if state is not None and state not in WORKFLOW_STATES:
        raise Refused(
            Rejection(
                "unknown-workflow-state",
                f"{name}: body.workflow_state {state!r} is not one of Canvas's states "
                f"({', '.join(sorted(WORKFLOW_STATES))}, lower case): "
                "it would be counted as active",
            )
        )


def _entity_id(
    event_type: EventType, body: Mapping[str, Any], metadata: Metadata, fingerprint: str
) -> str:
    """The entity's id local to its shard, so that one entity has one id whichever form
    (global or local) an event used; a legacy result without an id gets a stable one."""
    raw_entity_id = body.get(event_type.id_field)
    if raw_entity_id is None:  # a legacy result: no id of its own
        raw_entity_id = _legacy_result_key(body, fingerprint)
    return local_id(str(raw_entity_id), shard_of(metadata.root_account_id))


def _stored_metadata(
    metadata: Metadata, canonical_time: str, keep_request_metadata: bool
) -> dict[str, Any]:
    """The metadata as the log keeps it: the canonical event time, and without the
    request's personal data unless asked to keep it (PERSONAL_METADATA)."""
    stored = json_ready(metadata)
    stored["event_time"] = canonical_time
    if not keep_request_metadata:
        for key in PERSONAL_METADATA.intersection(stored):
            del stored[key]
    return stored


def fingerprint_of(name: str, event_time: str, body: Mapping[str, Any]) -> str:
    """Identity of a delivery: the same name, time and body is the same event.

    Delivery details (request or job ids, SQS attributes) are left out on purpose:
    Canvas re-emits one change from a request and from a job, and SQS redelivers.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(name.encode())
    digest.update(b"\x00")
    digest.update(event_time.encode())
    digest.update(b"\x00")
    digest.update(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def _lift_legacy_result(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Accept the pre-2019 result shapes instead of rejecting them.

    Before canvas-lms issue 1526 was fixed, `mastery` carried the outcome id; it is
    kept under `legacy_mastery` so the body validates and nothing is lost.
    """
    legacy = body.get("id") is None or body.get("user_uuid") is None
    mastery = body.get("mastery")
    if mastery is not None and not isinstance(mastery, bool):
        body = dict(body)
        body["legacy_mastery"] = body.pop("mastery")
        legacy = True
    return body, legacy


def _legacy_result_key(body: Mapping[str, Any], fingerprint: str) -> str:
    """A stable id for a result that has none, so its updates fold together.

    Outcome, context, title (student and assignment) and creation time name one
    result; without a creation time each event stands alone.
    """
    if body.get("created_at") is None:
        return f"legacy-{fingerprint[:20]}"
    parts = [
        str(body.get(key, ""))
        for key in ("learning_outcome_id", "result_context_id", "title", "created_at")
    ]
    return "legacy-" + hashlib.blake2b("\x00".join(parts).encode(), digest_size=10).hexdigest()


__all__ = [
    "EVENT_TYPES",
    "PERSONAL_METADATA",
    "CanvasEvent",
    "EntityKind",
    "NotLearning",
    "fingerprint_of",
    "normalise_id",
    "parse_event",
]
