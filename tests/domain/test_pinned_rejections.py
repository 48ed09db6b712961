"""The exact rejections of `parse_event` and the pinned key of a legacy result.

A rejection's reason and detail are what an operator reads in `mastery rejections`; the
texts below are written out by hand, not taken from the code. The legacy key is pinned
to a literal: every stored legacy result is keyed by it, so it must not change between
versions.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.events import CanvasEvent, parse_event
from domain.rejections import Rejection
from tests.conftest import NOW


def judged(envelope: Any, **options: Any) -> Any:
    return parse_event(envelope, now=NOW, **options)


def detail_of(envelope: Any, **options: Any) -> Rejection:
    result = judged(envelope, **options)
    assert isinstance(result, Rejection), result
    return result


def test_the_envelope_rejections_say_exactly_what_is_missing(payload: Any) -> None:
    assert judged({"body": {}}) == Rejection(
        "missing-metadata", "the event has no 'metadata' object"
    )
    assert judged({"metadata": {}}) == Rejection(
        "missing-event-name", "metadata.event_name is missing"
    )
    assert judged({"metadata": {"event_name": 7}}) == Rejection(
        "wrong-type", "metadata.event_name is not a string"
    )
    no_body = payload("learning_outcome_created")
    del no_body["body"]
    assert judged(no_body) == Rejection(
        "missing-body", "learning_outcome_created: the event has no 'body' object"
    )
    no_id = payload("learning_outcome_created")
    del no_id["body"]["learning_outcome_id"]
    assert judged(no_id) == Rejection(
        "missing-entity-id", "learning_outcome_created: body.learning_outcome_id is missing"
    )


def test_a_bad_id_is_named_with_its_part_and_field(payload: Any) -> None:
    in_metadata = payload("learning_outcome_created")
    in_metadata["metadata"]["root_account_id"] = True
    assert judged(in_metadata) == Rejection(
        "wrong-type",
        "learning_outcome_created: metadata.root_account_id: an id cannot be a boolean (True)",
    )
    in_body = payload("learning_outcome_created")
    in_body["body"]["context_id"] = "12x"
    assert judged(in_body) == Rejection(
        "wrong-type",
        "learning_outcome_created: body.context_id: '12x' is not a Canvas id (ASCII digits "
        "0-9, at most 9223372036854775807)",
    )


def test_a_validation_error_names_the_event_the_part_and_the_place(payload: Any) -> None:
    in_metadata = payload("learning_outcome_created")
    in_metadata["metadata"]["event_time"] = "not a time"
    rejection = detail_of(in_metadata)
    assert rejection.reason == "wrong-type"
    assert rejection.detail.startswith("learning_outcome_created: metadata.event_time: ")
    assert ";" not in rejection.detail  # one problem, nothing more
    in_body = payload("learning_outcome_created")
    in_body["body"]["title"] = {"a": 1}
    rejection = detail_of(in_body)
    assert rejection.reason == "wrong-type"
    assert rejection.detail.startswith("learning_outcome_created: body.title: ")
    assert "more)" not in rejection.detail
    # the same without time zones in play, with assume_utc on
    assert detail_of(in_body, assume_utc=True) == rejection


def problems(detail: str) -> list[str]:
    return detail.split(": ", 1)[1].split("; ")


def test_three_problems_are_shown_and_the_rest_counted(payload: Any) -> None:
    three = payload("learning_outcome_created")
    for field in ("title", "description", "display_name"):
        three["body"][field] = {"a": 1}
    detail = detail_of(three).detail
    assert sorted(p.split(":")[0] for p in problems(detail)) == [
        "body.description",
        "body.display_name",
        "body.title",
    ]
    assert "more)" not in detail
    five = payload("learning_outcome_created")
    for field in ("title", "description", "display_name", "short_description", "calculation_int"):
        five["body"][field] = {"a": 1}
    detail = detail_of(five).detail
    assert detail.endswith(" (and 2 more)")
    assert len(problems(detail.removesuffix(" (and 2 more)"))) == 3


def test_a_time_without_zone_is_refused_with_the_hint(payload: Any) -> None:
    naive = payload("learning_outcome_created")
    naive["metadata"]["event_time"] = "2019-11-05T10:03:37"
    rejection = detail_of(naive)
    assert rejection.detail.startswith("learning_outcome_created: metadata.event_time: ")
    assert rejection.detail.endswith(
        "; Canvas sends UTC times: if this dump was re-exported without time zones, replay "
        "it with --assume-utc"
    )
    event = judged(naive, assume_utc=True)
    assert isinstance(event, CanvasEvent)
    assert event.metadata["event_time"] == "2019-11-05T10:03:37.000Z"


def test_an_unknown_workflow_state_is_refused(payload: Any) -> None:
    envelope = payload("learning_outcome_created")
    envelope["body"]["workflow_state"] = "Active"
    assert detail_of(envelope).reason == "unknown-workflow-state"


def test_an_event_of_another_kind_is_not_legacy(payload: Any) -> None:
    event = judged(payload("learning_outcome_created"))
    assert event.legacy is False
    result = judged(payload("learning_outcome_result_created"))
    assert result.legacy is False


@pytest.mark.parametrize("missing", ["id", "user_uuid"])
def test_a_result_without_either_its_id_or_its_user_is_legacy(payload: Any, missing: str) -> None:
    envelope = payload("learning_outcome_result_created")
    del envelope["body"][missing]
    assert judged(envelope).legacy is True


def legacy_result(payload: Any, **changes: Any) -> dict[str, Any]:
    envelope = payload("learning_outcome_result_created")
    del envelope["body"]["id"]
    del envelope["body"]["user_uuid"]
    envelope["body"].update(changes)
    return envelope


def test_the_key_of_a_legacy_result_is_pinned(payload: Any) -> None:
    # blake2b, 10 bytes, of outcome, context, title and creation time joined by NUL
    envelope = legacy_result(payload, title="Quiz 1, Student A")
    parts = "1\x001\x00Quiz 1, Student A\x002019-08-09T21:35:05Z"
    recipe = hashlib.blake2b(parts.encode(), digest_size=10).hexdigest()
    assert judged(envelope).entity_id == "legacy-" + recipe
    assert recipe == "b587f74ca20fafb2818d"  # recorded once: it must never change


def test_each_part_of_a_legacy_result_s_key_counts(payload: Any) -> None:
    base = judged(legacy_result(payload, title="T")).entity_id
    changes = [
        {"learning_outcome_id": "2"},
        {"result_context_id": "2"},
        {"title": "U"},
        {"created_at": "2019-08-09T21:35:06Z"},
    ]
    keys = {
        judged(legacy_result(payload, **{"title": "T", **change})).entity_id for change in changes
    }
    assert base not in keys
    assert len(keys) == 4
    # a missing title is the empty text, not "None"
    untitled = legacy_result(payload)
    untitled["body"].pop("title", None)
    parts = "1\x001\x00\x002019-08-09T21:35:05Z"
    expected = hashlib.blake2b(parts.encode(), digest_size=10).hexdigest()
    assert judged(untitled).entity_id == "legacy-" + expected


def test_a_legacy_result_without_creation_time_is_keyed_by_its_fingerprint(
    payload: Any,
) -> None:
    envelope = legacy_result(payload, created_at=None)
    event = judged(envelope)
    assert event.entity_id == "legacy-" + event.fingerprint[:20]
    assert len(event.entity_id) == len("legacy-") + 20


def test_a_time_that_does_not_exist_in_utc_is_out_of_range(payload: Any) -> None:
    envelope = payload("learning_outcome_created")
    envelope["body"]["updated_at"] = "0001-01-01T00:30:00+01:00"
    assert judged(envelope) == Rejection(
        "out-of-range",
        "learning_outcome_created: body.updated_at: a time that cannot be expressed in UTC",
    )


def test_a_boolean_score_is_a_wrong_type_not_a_one(payload: Any) -> None:
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["score"] = True
    assert judged(envelope) == Rejection(
        "wrong-type",
        "learning_outcome_result_created: body.score: Value error, a boolean is not a number",
    )


def test_values_beyond_the_store_are_out_of_range(payload: Any) -> None:
    # pydantic's out-of-range errors: below, above, too many digits, no UTC instant
    envelope = payload("learning_outcome_result_created")
    envelope["body"]["attempt"] = -(2**63) - 1
    envelope["body"]["updated_at"] = "0001-01-01T00:30:00+01:00"
    method = payload("outcome_calculation_method_created")
    method["body"]["calculation_int"] = "9" * 5000
    assert detail_of(method).reason == "out-of-range"
    assert detail_of(envelope).reason == "out-of-range"
    method["body"]["calculation_int"] = 2**63
    method["body"]["updated_at"] = "0001-01-01T00:30:00+01:00"
    assert detail_of(method).reason == "out-of-range"


def test_four_problems_show_three_and_count_one_more(payload: Any) -> None:
    four = payload("learning_outcome_created")
    for field in ("title", "description", "display_name", "short_description"):
        four["body"][field] = {"a": 1}
    detail = detail_of(four).detail
    assert detail.endswith(" (and 1 more)")
    assert len(problems(detail.removesuffix(" (and 1 more)"))) == 3


def at(payload: Any, event_time: str) -> Any:
    envelope = payload("learning_outcome_created")
    envelope["metadata"]["event_time"] = event_time
    return judged(envelope)


def test_event_times_are_plausible_from_2000_to_a_day_after_now(payload: Any) -> None:
    # NOW is 2026-11-01T00:00:00Z; one day of tolerance for clocks ahead
    assert isinstance(at(payload, "2000-01-01T00:00:00Z"), CanvasEvent)
    assert isinstance(at(payload, "2026-11-01T00:00:00Z"), CanvasEvent)
    assert isinstance(at(payload, "2026-11-02T00:00:00Z"), CanvasEvent)
    assert at(payload, "1999-12-31T23:59:59.999Z") == Rejection(
        "implausible-event-time",
        "learning_outcome_created: event_time 1999-12-31T23:59:59.999Z is before 2000 or in "
        "the future",
    )
    assert at(payload, "2026-11-02T00:00:00.001Z").reason == "implausible-event-time"


def test_an_event_time_with_no_utc_instant_is_implausible(payload: Any) -> None:
    assert at(payload, "0001-01-01T00:30:00+01:00") == Rejection(
        "implausible-event-time",
        "learning_outcome_created: event_time 0001-01-01T00:30:00+01:00 is before 2000 or in "
        "the future",
    )


def test_the_root_account_is_its_id_else_its_uuid_else_unknown(payload: Any) -> None:
    envelope = payload("learning_outcome_created")
    assert judged(envelope).root_account == "21070000000000001"
    del envelope["metadata"]["root_account_id"]
    assert judged(envelope).root_account == "VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs"
    del envelope["metadata"]["root_account_uuid"]
    assert judged(envelope).root_account == "unknown"


@pytest.fixture
def local_time_not_utc(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The process's local time zone five and a half hours east of UTC (POSIX TZ)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_not_utc")
def test_times_are_judged_in_utc_whatever_the_local_zone(payload: Any) -> None:
    event = at(payload, "2024-03-01T10:00:00+02:00")
    assert event.event_time == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert event.event_time.utcoffset() == timedelta(0)
    assert event.metadata["event_time"] == "2024-03-01T08:00:00.000Z"
    envelope = payload("learning_outcome_created")
    envelope["body"]["updated_at"] = "0001-01-01T00:30:00+01:00"
    assert judged(envelope).reason == "out-of-range"
    # late on 9999-12-31 in UTC exists, though not in a local zone east of UTC
    envelope["body"]["updated_at"] = "9999-12-31T23:00:00+00:00"
    assert isinstance(judged(envelope), CanvasEvent)
