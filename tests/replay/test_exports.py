"""Canvas-shaped exports of a course, checked against fixtures written by hand.

The course: outcome 1 ("Fractions", highest) linked in Unit 1, outcome 2
("Decimals", n_mastery 2) linked in the root group, outcome 3 assessed but not
linked (Canvas leaves it out). Students: ada, bob, cy, eve have scores, dee has only
a result without a score.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.builders import group, link, outcome, result
from tests.conftest import FIXTURES
from tests.projections.helpers import replay_events
from tests.replay.helpers import run

EXPECTED = FIXTURES / "exports"

ADA, BOB, CY, DEE, EVE = (f"stu-{name}-0000" for name in ("ada", "bob", "cy", "dee", "eve"))


def scored(
    result_id: str, user: str, outcome_id: str, score: float | None, day: int, **extra: Any
) -> dict[str, Any]:
    return result(
        result_id,
        score,
        at=f"2025-02-{day:02d}T10:00:00Z",
        user=user,
        outcome_id=outcome_id,
        possible=5 if score is not None else None,
        **extra,
    )


COURSE_EVENTS = [
    outcome("1", title="Fractions", at="2025-01-01T00:00:00Z"),
    outcome(
        "2", title="Decimals", method="n_mastery", calculation_int=2, at="2025-01-01T00:00:00Z"
    ),
    outcome("3", title="Percentages", at="2025-01-01T00:00:00Z"),
    group("100", at="2025-01-02T00:00:00Z", title="Math 6"),
    group("101", at="2025-01-02T00:00:00Z", parent="100", title="Unit 1"),
    link("901", "2", "100", at="2025-01-03T00:00:00Z"),
    link("900", "1", "101", at="2025-01-03T00:00:00Z"),
    scored("11", ADA, "1", 2, 1, mastery=False),
    scored("12", ADA, "1", 1.5, 2, mastery=False),
    scored("13", ADA, "2", 4, 3, mastery=True),
    scored("14", ADA, "2", 5, 4, mastery=True),
    scored("21", BOB, "1", 1, 1, mastery=False),
    scored("22", BOB, "2", 5, 2, mastery=True),
    scored("31", CY, "1", 3, 1, mastery=True, percent=0.6),
    scored("32", CY, "2", 3, 2, mastery=True),
    scored("33", CY, "2", 3.25, 3, mastery=True),
    scored("34", CY, "3", 4, 3),
    scored("41", DEE, "1", None, 1),
    scored("51", EVE, "1", 2.75, 1),
    scored("52", EVE, "2", 4, 2),
    scored("53", EVE, "2", 4.5, 3),
    scored("54", EVE, "2", 0, 3, workflow_state="deleted"),
]


@pytest.fixture(scope="module")
def course_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("exports") / "store"
    replay_events(store, COURSE_EVENTS)
    return store


def export(store: Path, command: str, *options: str) -> str:
    result = run(command, "--store", str(store), "--course", "565", *options)
    assert result.exit_code == 0, result.output
    text: str = result.stdout
    return text


def test_rollups_json_has_the_shape_of_canvas_outcome_rollups(course_store: Path) -> None:
    document = orjson.loads(export(course_store, "rollups", "--format", "json"))
    assert document == orjson.loads((EXPECTED / "rollups.json").read_bytes())


def test_a_student_without_a_scored_result_has_an_empty_score_list(course_store: Path) -> None:
    document = orjson.loads(export(course_store, "rollups"))
    dee = [r for r in document["rollups"] if r["links"]["user"] == DEE]
    assert dee == [{"scores": [], "links": {"user": DEE}}]


def test_outcomes_not_linked_in_the_course_are_left_out(course_store: Path) -> None:
    document = orjson.loads(export(course_store, "rollups"))
    outcomes = {s["links"]["outcome"] for r in document["rollups"] for s in r["scores"]}
    assert outcomes == {"1", "2"}


def test_the_mean_aggregate_is_rounded_to_two_places_over_students_with_a_score(
    course_store: Path,
) -> None:
    document = orjson.loads(export(course_store, "rollups", "--aggregate", "mean"))
    assert document == orjson.loads((EXPECTED / "rollups_aggregate_mean.json").read_bytes())
    fractions, decimals = document["rollups"][0]["scores"]
    assert fractions["score"] == 2.19  # (2 + 1 + 3 + 2.75) / 4 = 2.1875
    assert fractions["count"] == 4  # dee has no scored result: not counted
    assert decimals["score"] == 3.96  # (4.5 + 3.13 + 4.25) / 3: bob's null score skipped
    assert decimals["count"] == 4  # ... but bob's rollup is counted


def test_the_median_aggregate_is_not_rounded(course_store: Path) -> None:
    document = orjson.loads(export(course_store, "rollups", "--aggregate", "median"))
    assert document["rollups"][0]["links"] == {"course": "565"}
    fractions, decimals = document["rollups"][0]["scores"]
    assert fractions["score"] == 2.375  # (2 + 2.75) / 2, not 2.38
    assert decimals["score"] == 4.25


def test_rollups_csv_is_the_learning_mastery_gradebook_export(course_store: Path) -> None:
    text = export(course_store, "rollups", "--format", "csv")
    assert text == (EXPECTED / "gradebook.csv").read_text()
    header = next(csv.reader(io.StringIO(text)))
    # In link order; the path leaves out the root group ("Math 6"), as Canvas does.
    assert header[3:5] == ["Unit 1 > Fractions result", "Unit 1 > Fractions mastery points"]
    assert header[5:] == ["Decimals result", "Decimals mastery points"]


def test_results_csv_has_the_outcome_results_report_columns(course_store: Path) -> None:
    text = export(course_store, "results", "--format", "csv")
    assert text == (EXPECTED / "results.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["result id"] for row in rows][:3] == ["11", "12", "13"]
    assert "54" not in {row["result id"] for row in rows}  # deleted
    cy_fractions = next(row for row in rows if row["result id"] == "31")
    # percent 0.6 of the criterion's 5 points: 3.0, at "Meets" (3 points)
    assert cy_fractions["learning outcome rating"] == "Meets"
    assert cy_fractions["learning outcome rating points"] == "3.0"
    assert cy_fractions["learning outcome mastered"] == "1"
    assert cy_fractions["learning outcome group title"] == "Unit 1"


def test_exports_as_of_a_time_see_only_what_was_known_then(course_store: Path) -> None:
    document = orjson.loads(export(course_store, "rollups", "--as-of", "2025-02-01"))
    ada = next(r for r in document["rollups"] if r["links"]["user"] == ADA)
    assert [(s["links"]["outcome"], s["score"]) for s in ada["scores"]] == [("1", 2.0)]
    rows = list(
        csv.DictReader(io.StringIO(export(course_store, "results", "--as-of", "2025-02-01")))
    )
    assert {row["result id"] for row in rows} == {"11", "21", "31", "41", "51"}


def test_the_rating_distribution_gives_percent_of_students_per_rating(course_store: Path) -> None:
    documents = orjson.loads(export(course_store, "distribution", "--format", "json"))
    by_id = {d["id"]: d for d in documents}
    fractions = by_id["1"]
    assert fractions["path"] == "Unit 1 > Fractions"
    # scores 2, 1, 3, 2.75: one at Meets (3), three at Does not meet (0)
    assert [(r["description"], r["percent"]) for r in fractions["ratings"]] == [
        ("Exceeds", 0),
        ("Meets", 25),
        ("Does not meet", 75),
    ]
    assert fractions["students"] == 4
    assert documents == orjson.loads((EXPECTED / "distribution.json").read_bytes())


def test_an_unknown_course_is_an_error(course_store: Path) -> None:
    result = run("rollups", "--store", str(course_store), "--course", "999")
    assert result.exit_code == 1
    assert "no result or outcome link" in result.output


def test_a_course_without_links_exports_every_assessed_outcome(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1", title="Fractions"), scored("11", ADA, "1", 4, 1)])
    result = run("rollups", "--store", str(store), "--course", "565", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].endswith("Fractions result,Fractions mastery points")
