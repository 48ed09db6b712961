from __future__ import annotations

from typing import Any

import pytest

from domain.events import (
    EVENT_TYPES,
    PERSONAL_METADATA,
    CanvasEvent,
    EntityKind,
    NotLearning,
    parse_event,
)
from domain.rejections import Rejection
from tests.conftest import NOW


def parsed(envelope: dict[str, Any], **options: Any) -> CanvasEvent:
    result = parse_event(envelope, now=NOW, **options)
    assert isinstance(result, CanvasEvent), result
    return result


def rejected(envelope: Any) -> Rejection:
    result = parse_event(envelope, now=NOW)
    assert isinstance(result, Rejection), result
    return result


def test_every_reference_payload_parses(reference_payloads_by_name: dict[str, Any]) -> None:
    assert set(reference_payloads_by_name) == set(EVENT_TYPES)
    for name, envelope in reference_payloads_by_name.items():
        event = parsed(envelope)
        assert event.name == name
        assert event.kind is EVENT_TYPES[name].kind
        assert event.entity_id


def test_the_entity_id_comes_from_the_field_of_its_kind(payload: Any) -> None:
    assert parsed(payload("learning_outcome_link_created")).entity_id == "12345678"
    assert parsed(payload("learning_outcome_result_created")).kind is EntityKind.RESULT
    assert parsed(payload("outcome_proficiency_created")).entity_id == "1"


def test_numeric_ids_become_strings(payload: Any) -> None:
    envelope = payload("learning_outcome_link_created")
    envelope["body"]["learning_outcome_id"] = 1201234
    envelope["body"]["learning_outcome_link_id"] = 12345678
    event = parsed(envelope)
    assert event.body["learning_outcome_id"] == "1201234"
    assert event.entity_id == "12345678"


def test_a_global_entity_id_on_the_home_shard_is_the_same_entity_as_its_local_id(
    payload: Any,
) -> None:
    local = parsed(payload("learning_outcome_created"))
    envelope = payload("learning_outcome_created")
    envelope["body"]["learning_outcome_id"] = "21070000000012345"
    assert parsed(envelope).entity_id == local.entity_id == "12345"


def test_unknown_fields_are_kept(payload: Any) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["copied_from_outcome_id"] = "77"
    envelope["body"]["brand_new"] = {"nested": [1, 2]}
    envelope["metadata"]["new_metadata_field"] = "x"
    event = parsed(envelope)
    assert event.body["brand_new"] == {"nested": [1, 2]}
    assert event.body["copied_from_outcome_id"] == "77"
    assert event.metadata["new_metadata_field"] == "x"


def test_absent_and_null_are_the_same(payload: Any) -> None:
    with_null = payload("learning_outcome_group_created")
    with_null["body"]["vendor_guid"] = None
    absent = payload("learning_outcome_group_created")
    del absent["body"]["vendor_guid"]
    assert parsed(with_null).body == parsed(absent).body
    assert parsed(with_null).fingerprint == parsed(absent).fingerprint


def test_personal_request_metadata_is_dropped_but_ids_are_kept(payload: Any) -> None:
    event = parsed(payload("learning_outcome_link_created"))
    assert PERSONAL_METADATA.isdisjoint(event.metadata)
    assert event.metadata["user_id"] == "21070000000000001"
    assert event.metadata["context_account_id"] == "21070000000000079"


def test_personal_request_metadata_is_kept_when_asked(payload: Any) -> None:
    event = parsed(payload("learning_outcome_link_created"), keep_request_metadata=True)
    assert event.metadata["user_login"] == "oxana@example.com"
    assert event.metadata["client_ip"] == "93.184.216.34"


def test_the_fingerprint_ignores_delivery_details(payload: Any) -> None:
    first = payload("learning_outcome_link_created")
    again = payload("learning_outcome_link_created")
    again["metadata"]["request_id"] = "another-request"
    again["metadata"]["job_id"] = "42"
    assert parsed(first).fingerprint == parsed(again).fingerprint


def test_the_fingerprint_changes_with_the_body_or_the_time(payload: Any) -> None:
    base = parsed(payload("learning_outcome_result_updated")).fingerprint
    other_score = payload("learning_outcome_result_updated")
    other_score["body"]["score"] = 4
    later = payload("learning_outcome_result_updated")
    later["metadata"]["event_time"] = "2019-08-09T21:35:06Z"
    assert parsed(other_score).fingerprint != base
    assert parsed(later).fingerprint != base


def test_equal_instants_in_other_offsets_have_one_fingerprint(payload: Any) -> None:
    utc = payload("learning_outcome_result_created")
    offset = payload("learning_outcome_result_created")
    offset["metadata"]["event_time"] = "2019-08-09T15:35:05-06:00"
    assert parsed(utc).fingerprint == parsed(offset).fingerprint
    assert parsed(offset).metadata["event_time"] == "2019-08-09T21:35:05.000Z"


def test_a_legacy_result_without_id_or_user_is_accepted_and_marked(payload: Any) -> None:
    envelope = payload("learning_outcome_result_created")
    del envelope["body"]["id"]
    del envelope["body"]["user_uuid"]
    envelope["body"]["mastery"] = "1"  # before canvas-lms#1526: the outcome id
    event = parsed(envelope)
    assert event.legacy
    assert event.entity_id.startswith("legacy-")
    assert "mastery" not in event.body
    assert event.body["legacy_mastery"] == "1"


def test_updates_of_one_legacy_result_share_its_synthetic_id(payload: Any) -> None:
    created = payload("learning_outcome_result_created")
    updated = payload("learning_outcome_result_updated")
    for envelope in (created, updated):
        del envelope["body"]["id"]
        del envelope["body"]["user_uuid"]
    updated["body"]["score"] = 3
    assert parsed(created).entity_id == parsed(updated).entity_id


def test_a_modern_result_is_not_legacy(payload: Any) -> None:
    assert not parsed(payload("learning_outcome_result_created")).legacy


def test_events_of_other_types_are_not_learning_events() -> None:
    envelope = {"metadata": {"event_name": "submission_created"}, "body": {}}
    assert parse_event(envelope, now=NOW) == NotLearning("submission_created")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda e: e.pop("metadata"), "missing-metadata"),
        (lambda e: e["metadata"].pop("event_name"), "missing-event-name"),
        (lambda e: e["metadata"].__setitem__("event_name", 7), "wrong-type"),
        (lambda e: e["metadata"].pop("event_time"), "missing-event-time"),
        (lambda e: e["metadata"].__setitem__("event_time", "last tuesday"), "wrong-type"),
        (lambda e: e["metadata"].__setitem__("event_time", "2019-08-09T21:35:05"), "wrong-type"),
        (
            lambda e: e["metadata"].__setitem__("event_time", "1970-01-01T00:00:00Z"),
            "implausible-event-time",
        ),
        (
            lambda e: e["metadata"].__setitem__("event_time", "2999-01-01T00:00:00Z"),
            "implausible-event-time",
        ),
        (lambda e: e.pop("body"), "missing-body"),
        (lambda e: e.__setitem__("body", [1, 2]), "missing-body"),
        (lambda e: e["body"].pop("learning_outcome_id"), "missing-entity-id"),
        (lambda e: e["body"].__setitem__("score", "five"), "wrong-type"),
        (lambda e: e["body"].__setitem__("score", {"value": 5}), "wrong-type"),
        (lambda e: e["body"].__setitem__("id", 1.5), "wrong-type"),
        (lambda e: e["body"].__setitem__("id", True), "wrong-type"),
        (lambda e: e["body"].__setitem__("id", -4), "wrong-type"),
        (lambda e: e["body"].__setitem__("learning_outcome_id", ""), "wrong-type"),
        (lambda e: e["body"].__setitem__("attempt", "first"), "wrong-type"),
    ],
)
def test_unusable_events_are_rejected_with_a_reason(payload: Any, change: Any, reason: str) -> None:
    envelope = payload("learning_outcome_result_created")
    change(envelope)
    rejection = rejected(envelope)
    assert rejection.reason == reason
    assert rejection.detail


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ("body", "score"),
        ("body", "possible"),
        ("body", "percent"),
        ("body", "attempt"),
    ],
)
def test_a_boolean_in_a_numeric_field_is_a_wrong_type_not_a_one(
    payload: Any, part: str, field: str
) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope[part][field] = True
    rejection = rejected(envelope)
    assert rejection.reason == "wrong-type"
    assert f"{part}.{field}" in rejection.detail


def test_a_boolean_in_a_nested_numeric_field_is_a_wrong_type(payload: Any) -> None:
    envelope = payload("learning_outcome_created")
    envelope["body"]["rubric_criterion"]["mastery_points"] = False
    assert rejected(envelope).reason == "wrong-type"
    envelope = payload("learning_outcome_created")
    envelope["body"]["calculation_int"] = True
    assert rejected(envelope).reason == "wrong-type"


def test_numbers_as_numbers_or_numeric_strings_are_still_read(payload: Any) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["score"] = "2.5"
    envelope["body"]["possible"] = 3
    assert parsed(envelope).body["score"] == 2.5


@pytest.mark.parametrize("state", ["DELETED", "Active", "retired", ""])
def test_an_unknown_workflow_state_is_refused_never_read_as_active(
    payload: Any, state: str
) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["workflow_state"] = state
    rejection = rejected(envelope)
    assert rejection.reason == "unknown-workflow-state"
    assert repr(state) in rejection.detail and "active, deleted" in rejection.detail


@pytest.mark.parametrize("state", ["active", "deleted"])
def test_canvas_workflow_states_are_accepted(payload: Any, state: str) -> None:
    envelope = payload("learning_outcome_link_updated")
    envelope["body"]["workflow_state"] = state
    assert parsed(envelope).body["workflow_state"] == state


@pytest.mark.parametrize("naive", ["2019-08-09T21:35:05.000", "2019-08-09 21:35:05"])
def test_a_time_without_a_time_zone_is_refused_with_a_hint_to_assume_utc(
    payload: Any, naive: str
) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["metadata"]["event_time"] = naive
    rejection = rejected(envelope)
    assert rejection.reason == "wrong-type"
    assert "--assume-utc" in rejection.detail


def test_assume_utc_reads_times_without_a_time_zone_as_utc_in_metadata_and_body(
    payload: Any,
) -> None:
    aware = payload("learning_outcome_result_created")
    aware["metadata"]["event_time"] = "2019-08-09T21:35:05.000Z"
    aware["body"]["assessed_at"] = "2019-08-09T21:30:00Z"
    naive = payload("learning_outcome_result_created")
    naive["metadata"]["event_time"] = "2019-08-09 21:35:05"
    naive["body"]["assessed_at"] = "2019-08-09T21:30:00"
    original = repr(naive)

    event = parsed(naive, assume_utc=True)

    assert event.metadata["event_time"] == "2019-08-09T21:35:05.000Z"
    assert event.fingerprint == parsed(aware).fingerprint
    assert repr(naive) == original  # the caller's envelope is left as it was
    still_bad = payload("learning_outcome_result_created")
    still_bad["metadata"]["event_time"] = "last tuesday"
    assert parse_event(still_bad, now=NOW, assume_utc=True).reason == "wrong-type"  # type: ignore[union-attr]


def test_a_rejection_names_the_field_and_the_problem(payload: Any) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["score"] = "five"
    rejection = rejected(envelope)
    assert "body.score" in rejection.detail
    assert "learning_outcome_result_created" in rejection.detail


def test_an_entity_without_its_id_is_rejected_for_each_kind(
    reference_payloads_by_name: dict[str, Any],
) -> None:
    for name, envelope in reference_payloads_by_name.items():
        if EVENT_TYPES[name].kind is EntityKind.RESULT:
            continue  # a result without id is a legacy result, not an error
        broken = {**envelope, "body": dict(envelope["body"])}
        del broken["body"][EVENT_TYPES[name].id_field]
        assert rejected(broken).reason == "missing-entity-id", name
