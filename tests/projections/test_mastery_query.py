"""Every calculation method and override, through the whole path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import (
    OTHER_STUDENT,
    STUDENT,
    calculation_method,
    course_request,
    mastery_scale,
    outcome,
    result,
)
from tests.projections.helpers import only, query, replay_events

THREE_RESULTS = [
    result("11", 2, at="2025-02-01T10:00:00Z"),
    result("12", 3, at="2025-02-02T10:00:00Z"),
    result("13", 4, at="2025-02-03T10:00:00Z"),
]


@pytest.mark.parametrize(
    ("method", "calculation_int", "expected"),
    [
        ("highest", None, 4.0),
        ("latest", None, 4.0),
        ("average", None, 3.0),
        ("n_mastery", 2, 3.5),  # every value >= 3 points: (3 + 4) / 2
        ("n_mastery", 3, None),  # only two values at or above mastery
        ("decaying_average", 65, 3.48),  # 4 * .65 + mean(2, 3) * .35 = 3.475
        ("weighted_average", 65, 3.48),
        ("standard_decaying_average", 65, 3.53),  # ((2*.35+3*.65)*.35 + 4*.65) = 3.5275
        (None, None, 4.0),  # no method: highest
    ],
)
def test_each_method_gives_canvas_numbers(
    tmp_path: Path, method: str | None, calculation_int: int | None, expected: float | None
) -> None:
    store = tmp_path / "store"
    replay_events(
        store, [outcome("1", method=method, calculation_int=calculation_int), *THREE_RESULTS]
    )
    row = only(store)
    assert row["score"] == expected
    assert row["count"] == 3
    assert row["calculation_method"] == (method or "highest")


def test_the_json_answer_has_the_documented_fields(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), *THREE_RESULTS])
    row = only(store)
    assert row == {
        "user_uuid": STUDENT,
        "learning_outcome_id": "1",
        "context_type": "Course",
        "context_id": "565",
        "root_account_id": "21070000000000001",
        "score": 4.0,
        "count": 3,
        "mastery": True,
        "rating": {"description": "Meets", "points": 3.0, "color": None},
        "calculation_method": "highest",
        "calculation_int": None,
        "latest_assessed_at": "2025-02-03T10:00:00Z",
    }


def test_percent_is_scaled_to_points_possible(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", points_possible=5, mastery_points=3),
            result("11", 1, percent=0.5, possible=2, at="2025-02-01T10:00:00Z"),
        ],
    )
    assert only(store)["score"] == 2.5


def test_a_pair_without_any_score_appears_with_null(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("11", None, at="2025-02-01T10:00:00Z")])
    row = only(store)
    assert (row["score"], row["count"], row["mastery"], row["rating"]) == (None, 0, None, None)


def test_a_deleted_result_stops_counting(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), *THREE_RESULTS])
    deleted = result(
        "13",
        4,
        at="2025-02-05T10:00:00Z",
        name="learning_outcome_result_updated",
        workflow_state="deleted",
        assessed_at="2025-02-03T10:00:00Z",
    )
    replay_events(store, [deleted])
    assert only(store)["score"] == 3.0
    assert only(store, "--as-of", "2025-02-04")["score"] == 4.0


def test_an_update_replaces_the_score_of_the_same_result(tmp_path: Path) -> None:
    store = tmp_path / "store"
    regrade = result(
        "13",
        1,
        at="2025-02-10T10:00:00Z",
        name="learning_outcome_result_updated",
        assessed_at="2025-02-03T10:00:00Z",
    )
    replay_events(store, [outcome("1", method="latest"), *THREE_RESULTS, regrade])
    assert only(store)["score"] == 1.0
    assert only(store, "--as-of", "2025-02-09T00:00:00Z")["score"] == 4.0


def test_an_outcome_method_change_recomputes_its_rollups(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1", method="highest"), *THREE_RESULTS])
    assert only(store)["score"] == 4.0
    replay_events(
        store,
        [
            outcome(
                "1", method="average", at="2025-03-01T00:00:00Z", name="learning_outcome_updated"
            )
        ],
    )
    assert only(store)["score"] == 3.0
    assert only(store, "--as-of", "2025-02-15")["score"] == 4.0


def test_a_course_mastery_scale_and_method_override_the_outcome(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="highest", points_possible=5, mastery_points=3),
            result("11", 1, percent=0.5, at="2025-02-01T10:00:00Z"),
            result("12", 1, percent=1.0, at="2025-02-02T10:00:00Z"),
            mastery_scale("7", at="2025-01-15T00:00:00Z"),
            calculation_method("9", "average", at="2025-01-15T00:00:00Z"),
        ],
    )
    row = only(store)
    # the scale's top rating is 4 points: values 2.0 and 4.0, averaged
    assert row["score"] == 3.0
    assert row["calculation_method"] == "average"
    assert row["mastery"] is True
    assert row["rating"] == {"description": "Mastery", "points": 3.0, "color": "0B874B"}


def test_a_deleted_scale_stops_applying(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", points_possible=5, mastery_points=3),
            result("11", 1, percent=1.0, at="2025-02-01T10:00:00Z"),
            mastery_scale("7", at="2025-01-15T00:00:00Z"),
        ],
    )
    assert only(store)["score"] == 4.0
    replay_events(
        store,
        [
            mastery_scale(
                "7",
                at="2025-03-01T00:00:00Z",
                workflow_state="deleted",
                name="outcome_proficiency_updated",
            )
        ],
    )
    # account-level scales are in use: with none in force, Canvas's default scale (top 4)
    assert only(store)["score"] == 4.0
    assert only(store)["rating"]["color"] == "0374B5"
    assert only(store, "--as-of", "2025-02-15")["rating"]["color"] == "127A1B"


def test_an_account_scale_reaches_courses_through_the_learned_account_chain(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    account_scale = mastery_scale(
        "8",
        at="2025-01-10T00:00:00Z",
        context_type="Account",
        context_id="79",
        ratings=[
            ("Top", 10.0, False, "111111"),
            ("Pass", 6.0, True, "222222"),
            ("Fail", 0.0, False, "333333"),
        ],
    )
    events = [
        outcome("1", points_possible=5, mastery_points=3),
        course_request(result("11", 1, percent=0.7, at="2025-02-01T10:00:00Z")),
        account_scale,
    ]
    replay_events(store, events)
    row = only(store)
    assert row["score"] == 7.0
    assert row["rating"]["description"] == "Pass"


def test_the_course_scale_wins_over_the_account_scale(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1"),
            course_request(result("11", 1, percent=1.0, at="2025-02-01T10:00:00Z")),
            mastery_scale(
                "8",
                at="2025-01-10T00:00:00Z",
                context_type="Account",
                context_id="79",
                ratings=[("Top", 10.0, True, "111111")],
            ),
            mastery_scale("7", at="2025-01-10T00:00:00Z"),
        ],
    )
    assert only(store)["score"] == 4.0


def test_query_filters_by_student_outcome_and_course(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1"),
            outcome("2"),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 3, at="2025-02-01T10:00:00Z", user=OTHER_STUDENT),
            result("13", 4, at="2025-02-01T10:00:00Z", outcome_id="2"),
            result("14", 5, at="2025-02-01T10:00:00Z", course="566"),
        ],
    )
    assert len(query(store)) == 4
    assert len(query(store, "--user", STUDENT)) == 3
    assert len(query(store, "--user", STUDENT, "--outcome", "1")) == 2
    assert len(query(store, "--course", "566")) == 1
    assert len(query(store, "--user", STUDENT, "--user", OTHER_STUDENT, "--course", "565")) == 3


def test_all_courses_rolls_up_every_course_with_the_outcome_method(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="average"),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 4, at="2025-02-02T10:00:00Z", course="566"),
        ],
    )
    row = only(store, "--all-courses")
    assert (row["score"], row["count"], row["context_id"]) == (3.0, 2, None)


def test_legacy_results_are_kept_but_not_rolled_up(tmp_path: Path) -> None:
    store = tmp_path / "store"
    legacy = result("x", 3, at="2018-05-01T10:00:00Z")
    del legacy["body"]["id"]
    del legacy["body"]["user_uuid"]
    summary = replay_events(store, [outcome("1"), legacy])
    assert summary["legacy"] == 1
    assert query(store) == []


def test_a_bad_time_is_a_clear_usage_error(tmp_path: Path) -> None:
    from tests.replay.helpers import run

    store = tmp_path / "store"
    replay_events(store, [outcome("1")])
    result_ = run("query", "--store", str(store), "--as-of", "March 1st")
    assert result_.exit_code == 2
    assert "--as-of" in result_.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("query", "--course", "\u00b2"),
        ("query", "--outcome", "\uff11"),
        ("rollups", "--course", "6\u0660\u0661"),
        ("hierarchy", "--context", "Course:\u00b2"),
    ],
)
def test_an_id_that_is_not_a_canvas_id_is_a_clear_error(tmp_path: Path, args: tuple[str]) -> None:
    from tests.replay.helpers import run

    store = tmp_path / "store"
    replay_events(store, [outcome("1")])
    result_ = run(args[0], "--store", str(store), *args[1:])
    assert result_.exit_code in (1, 2)
    assert "not a Canvas id" in result_.stderr
