"""Every cut-off in time, asked at its exact instant.

As of T, a change whose `event_time` is T is in force (Canvas: "the latest version
whose event time is <= T"); as known at K, a change recorded at K is known. Each test
asks at the instant itself and one microsecond before it, for results, outcomes,
mastery scales, calculation methods, groups and links, through each path that reads
them (a few students: a window over their results; a course grid: one scan).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.builders import (
    STUDENT,
    calculation_method,
    group,
    link,
    mastery_scale,
    outcome,
    result,
)
from tests.projections.helpers import query, replay_events
from tests.replay.helpers import run

T1 = "2025-02-01T10:00:00Z"
T2 = "2025-03-01T10:00:00Z"
LATER = "2025-06-01T00:00:00Z"

PATHS = {
    "a student's window": ("--user", STUDENT),
    "a course grid scan": ("--course", "565"),
}


def just_before(moment: str) -> str:
    """One microsecond earlier."""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return (parsed - timedelta(microseconds=1)).isoformat()


def recorded_at(store: Path, sql: str, *params: str) -> str:
    """When this store recorded a version (read from the read model)."""
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        rows = connection.execute(sql, params).fetchall()
    finally:
        connection.close()
    assert len({row[0] for row in rows}) == 1, rows
    moment: str = rows[0][0]
    return moment


def score_at(store: Path, path: tuple[str, ...], *options: str) -> Any:
    rows = query(store, *path, *options)
    return [(row["score"], row["count"], row["calculation_method"]) for row in rows]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_a_result_is_in_force_as_of_its_own_event_time(tmp_path: Path, path: tuple[str]) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="average"),
            result("11", 2, at=T1),
            result("12", 4, at=T2),
            result("11", 1, at=T2, name="learning_outcome_result_updated", assessed_at=T1),
        ],
    )
    assert score_at(store, path, "--as-of", just_before(T1)) == []
    assert score_at(store, path, "--as-of", T1) == [(2.0, 1, "average")]
    assert score_at(store, path, "--as-of", just_before(T2)) == [(2.0, 1, "average")]
    assert score_at(store, path, "--as-of", T2) == [(2.5, 2, "average")]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_a_result_is_known_at_the_instant_it_was_recorded(tmp_path: Path, path: tuple[str]) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1", method="average"), result("11", 2, at=T1)])
    replay_events(store, [result("12", 4, at=T2)])
    replay_events(store, [result("11", 1, at=T2, name="learning_outcome_result_updated")])
    sql = "SELECT recorded_at FROM result_versions WHERE result_id = ? AND score = ?"
    first = recorded_at(store, sql, "11", "2")
    second = recorded_at(store, sql, "12", "4")
    regrade = recorded_at(store, sql, "11", "1")
    assert first < second < regrade
    assert score_at(store, path, "--known-at", just_before(first)) == []
    assert score_at(store, path, "--known-at", first) == [(2.0, 1, "average")]
    assert score_at(store, path, "--known-at", just_before(second)) == [(2.0, 1, "average")]
    assert score_at(store, path, "--known-at", second) == [(3.0, 2, "average")]
    assert score_at(store, path, "--known-at", regrade) == [(2.5, 2, "average")]
    both = ("--as-of", T1, "--known-at", second)
    assert score_at(store, path, *both) == [(2.0, 1, "average")]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_an_outcome_version_applies_from_its_own_event_time_and_recording(
    tmp_path: Path, path: tuple[str]
) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [outcome("1", method="highest"), result("11", 2, at=T1), result("12", 4, at=T1)],
    )
    replay_events(store, [outcome("1", method="average", at=T2, name="learning_outcome_updated")])
    assert score_at(store, path, "--as-of", just_before(T2)) == [(4.0, 2, "highest")]
    assert score_at(store, path, "--as-of", T2) == [(3.0, 2, "average")]
    changed = recorded_at(
        store, "SELECT recorded_at FROM outcome_versions WHERE calculation_method = 'average'"
    )
    assert score_at(store, path, "--known-at", just_before(changed)) == [(4.0, 2, "highest")]
    assert score_at(store, path, "--known-at", changed) == [(3.0, 2, "average")]


ACCOUNT_SCALE = [("Top", 10.0, False, "111111"), ("Mastery", 6.0, True, "222222")]
COURSE_SCALE = [("Top", 4.0, False, "333333"), ("Mastery", 3.0, True, "444444")]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_a_course_mastery_scale_applies_from_its_own_event_time_and_recording(
    tmp_path: Path, path: tuple[str]
) -> None:
    """The root account's scale (P = 10) is replaced by the course's (P = 4) at T2:
    a result of 50% is 5.0 before and 2.0 from T2 on."""
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="highest"),
            mastery_scale(
                "7", at=T1, context_type="Account", context_id="1", ratings=ACCOUNT_SCALE
            ),
            result("11", 1, percent=0.5, at=T1),
        ],
    )
    replay_events(store, [mastery_scale("8", at=T2, ratings=COURSE_SCALE)])
    assert score_at(store, path, "--as-of", just_before(T2)) == [(5.0, 1, "highest")]
    assert score_at(store, path, "--as-of", T2) == [(2.0, 1, "highest")]
    course_scale = recorded_at(
        store, "SELECT recorded_at FROM mastery_scale_versions WHERE proficiency_id = '8'"
    )
    assert score_at(store, path, "--known-at", just_before(course_scale)) == [(5.0, 1, "highest")]
    assert score_at(store, path, "--known-at", course_scale) == [(2.0, 1, "highest")]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_a_course_calculation_method_applies_from_its_own_event_time_and_recording(
    tmp_path: Path, path: tuple[str]
) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="highest"),
            calculation_method("5", "highest", at=T1, context_type="Account", context_id="1"),
            result("11", 2, at=T1),
            result("12", 4, at=T1),
        ],
    )
    replay_events(store, [calculation_method("6", "average", at=T2)])
    assert score_at(store, path, "--as-of", just_before(T2)) == [(4.0, 2, "highest")]
    assert score_at(store, path, "--as-of", T2) == [(3.0, 2, "average")]
    course_method = recorded_at(
        store,
        "SELECT recorded_at FROM calculation_method_versions WHERE calculation_method_id = '6'",
    )
    assert score_at(store, path, "--known-at", just_before(course_method)) == [(4.0, 2, "highest")]
    assert score_at(store, path, "--known-at", course_method) == [(3.0, 2, "average")]


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
def test_account_level_scales_count_as_on_from_the_first_ones_event_time_and_recording(
    tmp_path: Path, path: tuple[str]
) -> None:
    """Before any scale or method, the outcome's own criterion (P = 5) applies; from
    the first one on, Canvas's account-level settings (here the course's, P = 4)."""
    store = tmp_path / "store"
    replay_events(store, [outcome("1", method="highest"), result("11", 1, percent=0.5, at=T1)])
    replay_events(store, [mastery_scale("8", at=T2, ratings=COURSE_SCALE)])
    assert score_at(store, path, "--as-of", just_before(T2)) == [(2.5, 1, "highest")]
    assert score_at(store, path, "--as-of", T2) == [(2.0, 1, "highest")]
    first_scale = recorded_at(store, "SELECT recorded_at FROM mastery_scale_versions")
    assert score_at(store, path, "--known-at", just_before(first_scale)) == [(2.5, 1, "highest")]
    assert score_at(store, path, "--known-at", first_scale) == [(2.0, 1, "highest")]


def outline(store: Path, *options: str) -> Any:
    """The course's groups and the outcomes linked in them, or the command's exit code."""
    found = run(
        "hierarchy", "--store", str(store), "--context", "Course:565", "--format", "json", *options
    )
    if found.exit_code != 0:
        return found.exit_code
    (document,) = orjson.loads(found.stdout)

    def walk(node: dict[str, Any]) -> object:
        return (
            node["title"],
            [o["id"] for o in node["outcomes"]],
            [walk(g) for g in node["groups"]],
        )

    return [walk(node) for node in document["groups"]]


def test_groups_and_links_are_in_the_tree_from_their_own_event_time_and_recording(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1", title="Fractions"), group("100", at=T1, title="Math 6")])
    replay_events(store, [link("900", "1", "100", at=T2)])
    replay_events(
        store,
        [group("100", at=LATER, title="Maths", name="learning_outcome_group_updated")],
    )
    assert outline(store, "--as-of", just_before(T1)) == 1  # nothing in the course yet
    assert outline(store, "--as-of", T1) == [("Math 6", [], [])]
    assert outline(store, "--as-of", just_before(T2)) == [("Math 6", [], [])]
    assert outline(store, "--as-of", T2) == [("Math 6", ["1"], [])]
    assert outline(store, "--as-of", just_before(LATER)) == [("Math 6", ["1"], [])]
    assert outline(store, "--as-of", LATER) == [("Maths", ["1"], [])]

    linked = recorded_at(
        store, "SELECT recorded_at FROM outcome_link_versions WHERE link_id = '900'"
    )
    renamed = recorded_at(
        store, "SELECT recorded_at FROM outcome_group_versions WHERE title = 'Maths'"
    )
    assert outline(store, "--known-at", just_before(linked)) == [("Math 6", [], [])]
    assert outline(store, "--known-at", linked) == [("Math 6", ["1"], [])]
    assert outline(store, "--known-at", just_before(renamed)) == [("Math 6", ["1"], [])]
    assert outline(store, "--known-at", renamed) == [("Maths", ["1"], [])]
