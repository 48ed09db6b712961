"""The group hierarchy in a store: as of any time, late parents, paths kept current."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from tests.builders import group, link, outcome
from tests.projections.helpers import replay_events
from tests.replay.helpers import run

SETUP = [
    outcome("1", title="Fractions", at="2025-01-01T00:00:00Z"),
    outcome("2", title="Decimals", at="2025-01-01T00:00:00Z"),
    group("100", at="2025-01-02T00:00:00Z", title="Math 6"),
    group("101", at="2025-01-03T00:00:00Z", parent="100", title="Unit 1"),
    group("102", at="2025-01-03T00:00:00Z", parent="100", title="Unit 2"),
    link("900", "1", "101", at="2025-01-04T00:00:00Z"),
    link("901", "2", "102", at="2025-01-04T00:00:00Z"),
]


def trees(store: Path, *options: str) -> list[dict[str, Any]]:
    result = run("hierarchy", "--store", str(store), "--format", "json", *options)
    assert result.exit_code == 0, result.output
    documents: list[dict[str, Any]] = orjson.loads(result.stdout)
    return documents


def outline(document: dict[str, Any]) -> list[object]:
    """Titles and outcome ids, nested, without the other fields."""

    def walk(node: dict[str, Any]) -> object:
        label = node["title"] if node["kind"] == "group" else f"{node['kind']}:{node['id']}"
        return (label, [o["id"] for o in node["outcomes"]], [walk(g) for g in node["groups"]])

    return [walk(node) for node in document["groups"]]


def course_tree(store: Path, *options: str) -> dict[str, Any]:
    (document,) = trees(store, "--context", "Course:565", *options)
    return document


def stored_paths(store: Path) -> dict[str, str]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        rows = connection.execute("SELECT link_id, path FROM outcome_paths").fetchall()
    finally:
        connection.close()
    return dict(rows)


def test_the_tree_of_a_course_lists_groups_and_their_outcomes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, SETUP)
    document = course_tree(store)
    assert document["context_type"] == "Course" and document["context_id"] == "565"
    assert outline(document) == [
        ("Math 6", [], [("Unit 1", ["1"], []), ("Unit 2", ["2"], [])]),
    ]
    fractions = document["groups"][0]["groups"][0]["outcomes"][0]
    assert fractions["title"] == "Fractions"
    assert fractions["calculation_method"] == "highest"
    assert fractions["path"] == "Unit 1 > Fractions"


def test_as_of_draws_the_tree_before_a_move_a_deletion_and_a_restore(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            *SETUP,
            group(
                "102",
                at="2025-02-01T00:00:00Z",
                parent="101",
                title="Unit 2",
                name="learning_outcome_group_updated",
            ),
            group(
                "101",
                at="2025-03-01T00:00:00Z",
                parent="100",
                title="Unit 1",
                workflow_state="deleted",
                name="learning_outcome_group_updated",
            ),
            group(
                "101",
                at="2025-04-01T00:00:00Z",
                parent="100",
                title="Unit 1",
                name="learning_outcome_group_updated",
            ),
        ],
    )
    assert outline(course_tree(store, "--as-of", "2025-01-15")) == [
        ("Math 6", [], [("Unit 1", ["1"], []), ("Unit 2", ["2"], [])]),
    ]
    assert outline(course_tree(store, "--as-of", "2025-02-15")) == [
        ("Math 6", [], [("Unit 1", ["1"], [("Unit 2", ["2"], [])])]),
    ]
    assert outline(course_tree(store, "--as-of", "2025-03-15")) == [("Math 6", [], [])]
    assert outline(course_tree(store)) == [
        ("Math 6", [], [("Unit 1", ["1"], [("Unit 2", ["2"], [])])]),
    ]
    before = run("hierarchy", "--store", str(store), "--context", "Course:565", "--as-of", "2024")
    assert before.exit_code == 2  # not a date
    before = run(
        "hierarchy", "--store", str(store), "--context", "Course:565", "--as-of", "2024-12-31"
    )
    assert before.exit_code == 1 and "no outcome group or link" in before.output


def test_a_late_parent_adopts_the_orphans_and_their_paths_follow(tmp_path: Path) -> None:
    store = tmp_path / "store"
    # Group 101 (Unit 1) is missing: its child group and its link arrive without it.
    child = group("103", at="2025-01-05T00:00:00Z", parent="101", title="Skills")
    replay_events(store, [SETUP[0], SETUP[2], SETUP[5], child])
    document = course_tree(store)
    assert outline(document) == [
        ("Math 6", [], []),
        ("missing_parent:101", ["1"], [("Skills", [], [])]),
    ]
    assert document["missing_parents"] == ["101"]
    assert stored_paths(store) == {"900": "Fractions"}

    replay_events(store, [group("101", at="2025-01-03T00:00:00Z", parent="100", title="Unit 1")])
    document = course_tree(store)
    assert outline(document) == [("Math 6", [], [("Unit 1", ["1"], [("Skills", [], [])])])]
    assert document["missing_parents"] == []
    assert stored_paths(store) == {"900": "Unit 1 > Fractions"}


def test_a_transient_cycle_is_reported_and_the_command_still_answers(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            *SETUP,
            group(
                "101",
                at="2025-02-01T00:00:00Z",
                parent="102",
                title="Unit 1",
                name="learning_outcome_group_updated",
            ),
            group(
                "102",
                at="2025-01-20T00:00:00Z",
                parent="101",
                title="Unit 2",
                name="learning_outcome_group_updated",
            ),
        ],
    )
    document = course_tree(store)
    assert document["cycles"] == [{"groups": ["102", "101"], "detached": "102"}]
    assert outline(document)[-1] == (
        "cycle_break:101",
        [],
        [("Unit 2", ["2"], [("Unit 1", ["1"], [])])],
    )
    picture = run("hierarchy", "--store", str(store), "--context", "Course:565")
    assert picture.exit_code == 0
    assert "cycle broken" in picture.stdout
    assert "group 102 detached" in picture.stdout


def test_outcome_paths_follow_renamed_groups_and_outcomes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, SETUP)
    assert stored_paths(store) == {"900": "Unit 1 > Fractions", "901": "Unit 2 > Decimals"}
    replay_events(
        store,
        [
            group(
                "101",
                at="2025-02-01T00:00:00Z",
                parent="100",
                title="Unit One",
                name="learning_outcome_group_updated",
            ),
            outcome("2", title="Decimal numbers", at="2025-02-01T00:00:00Z"),
            link("901", "2", "102", at="2025-02-02T00:00:00Z", workflow_state="deleted"),
        ],
    )
    assert stored_paths(store) == {"900": "Unit One > Fractions"}


def test_stored_paths_equal_the_paths_of_the_current_tree(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, SETUP)
    from_tree = {
        o["link_id"]: o["path"]
        for g in course_tree(store)["groups"][0]["groups"]
        for o in g["outcomes"]
    }
    assert stored_paths(store) == from_tree


def test_the_tree_picture_shows_groups_outcomes_and_methods(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [*SETUP, group("300", at="2025-01-05T00:00:00Z", parent="299")])
    result = run("hierarchy", "--store", str(store), "--context", "course:565")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Course 565")
    assert any("Unit 1" in line for line in lines)
    assert any("1 Fractions" in line and "highest" in line for line in lines)
    assert any("parent not yet seen (group 299)" in line for line in lines)


def test_an_unknown_or_malformed_context_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, SETUP)
    missing = run("hierarchy", "--store", str(store), "--context", "Course:999")
    assert missing.exit_code == 1
    malformed = run("hierarchy", "--store", str(store), "--context", "Section:1")
    assert malformed.exit_code == 2


def my_tables(store: Path) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in (
                "outcome_group_versions",
                "outcome_link_versions",
                "outcome_paths",
            )
        }
    finally:
        connection.close()


def test_a_rebuild_gives_the_rows_the_incremental_path_gave(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "data" / "sample.jsonl"
    lines = sample.read_bytes().splitlines(keepends=True)
    store = tmp_path / "store"
    for index in range(3):  # out of order across runs: every third line per run
        part = tmp_path / f"part-{index}.jsonl"
        part.write_bytes(b"".join(lines[index::3]))
        assert run("replay", "--store", str(store), str(part)).exit_code == 0
    incremental = my_tables(store)
    assert all(incremental.values())
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert my_tables(store) == incremental


def test_an_entitys_contexts_are_found_by_its_key_not_by_scanning_its_root_account(
    tmp_path: Path,
) -> None:
    """Each batch of groups and links looks up the contexts of every entity in it: a scan
    of the root account's rows for each would make a large world's replay quadratic."""
    from projections.catchup import open_read_models
    from projections.hierarchy import context_lookups

    db = open_read_models(tmp_path / "read-models.sqlite")
    try:
        for statement in context_lookups():
            plan = " ".join(
                row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", ["1", "2"])
            )
            assert "root_account=? AND" in plan, (statement, plan)
    finally:
        db.close()
