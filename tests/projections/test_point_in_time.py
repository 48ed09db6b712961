"""As of a valid time, as known at a recording time, and both together."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.builders import outcome, result
from tests.projections.helpers import only, query, replay_events


def test_as_of_sees_only_events_up_to_that_time(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="average"),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 4, at="2025-03-01T10:00:00Z"),
        ],
    )
    assert query(store, "--as-of", "2025-01-15") == []
    assert only(store, "--as-of", "2025-02-15")["score"] == 2.0
    assert only(store, "--as-of", "2025-03-01T10:00:00Z")["score"] == 3.0
    assert only(store, "--as-of", "2025-03-01T09:59:59Z")["score"] == 2.0


def test_as_of_after_everything_equals_the_current_answer(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="decaying_average", calculation_int=70),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 4, at="2025-03-01T10:00:00Z"),
            result("13", 1, at="2025-03-02T10:00:00Z"),
        ],
    )
    assert query(store) == query(store, "--as-of", "2030-01-01")


def test_known_at_reproduces_what_was_reported_before_a_late_event(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [outcome("1", method="latest"), result("11", 2, at="2025-02-01T10:00:00Z")],
    )
    between = datetime.now(UTC).isoformat()
    # A regrade made on Feb 2 arrives only now (delivery was lost and re-sent).
    late = result(
        "11",
        4,
        at="2025-02-02T10:00:00Z",
        name="learning_outcome_result_updated",
        assessed_at="2025-02-01T10:00:00Z",
    )
    replay_events(store, [late])
    assert only(store, "--as-of", "2025-02-03")["score"] == 4.0
    assert only(store, "--as-of", "2025-02-03", "--known-at", between)["score"] == 2.0
    assert only(store, "--known-at", between)["score"] == 2.0


def test_known_at_before_anything_was_recorded_knows_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("11", 2, at="2025-02-01T10:00:00Z")])
    assert query(store, "--known-at", "2020-01-01") == []


def test_an_outcome_change_applies_from_its_own_time_only(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="highest", mastery_points=3),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 4, at="2025-02-02T10:00:00Z"),
            outcome(
                "1",
                method="average",
                mastery_points=2,
                at="2025-02-10T00:00:00Z",
                name="learning_outcome_updated",
            ),
        ],
    )
    before = only(store, "--as-of", "2025-02-05")
    after = only(store, "--as-of", "2025-02-11")
    assert (before["score"], before["calculation_method"]) == (4.0, "highest")
    assert (after["score"], after["calculation_method"], after["mastery"]) == (3.0, "average", True)
