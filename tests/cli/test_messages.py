"""One rule per message: exit codes, method names, whole ids, refused combinations."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.rollup_settings import method_label
from tests.replay.helpers import replay_json, run

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"
STUDENT = "5cr9jQY6cxkTWDU2DQ1nxknDJ8zKWxLLHXsuPZMQ"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("messages") / "store"
    replay_json(path, SAMPLE)
    return str(path)


@pytest.mark.parametrize(
    "command",
    [
        ["query", "--course", "999"],
        ["rollups", "--course", "999"],
        ["results", "--course", "999"],
        ["distribution", "--course", "999"],
        ["hierarchy", "--context", "Course:999"],
    ],
)
def test_a_course_the_store_does_not_know_is_exit_1_for_every_command(
    store: str, command: list[str]
) -> None:
    result = run(*command, "--store", store)
    assert result.exit_code == 1
    assert "999" in result.stderr


def test_a_known_course_with_nothing_for_the_filter_is_an_empty_answer(store: str) -> None:
    result = run("query", "--store", store, "--course", "601", "--user", "nobody")
    assert result.exit_code == 0
    assert "0 rollups" in result.stdout


def test_all_courses_with_one_course_is_refused(store: str) -> None:
    result = run("query", "--store", store, "--all-courses", "--course", "601")
    assert result.exit_code == 2
    assert "--all-courses" in result.stderr and "--course" in result.stderr


def test_an_unknown_quarantine_reason_lists_the_codes(store: str) -> None:
    result = run("quarantine", "--store", store, "--reason", "not-a-reason")
    assert result.exit_code == 2
    assert "not-json" in result.stderr and "wrong-type" in result.stderr


def test_the_table_shows_whole_student_ids_and_ratings_when_there_is_room(store: str) -> None:
    result = run("query", "--store", store, "--course", "601", "--user", STUDENT)
    assert result.exit_code == 0
    assert STUDENT in result.stdout  # copyable into --user
    assert "Advanced Mastery" in result.stdout


@pytest.mark.parametrize(
    ("method", "calculation_int", "label"),
    [
        ("standard_decaying_average", 80, "standard_decaying_average 80"),
        ("decaying_average", None, "decaying_average 65"),  # Canvas's `|| 65`
        ("n_mastery", 2, "n_mastery 2"),
        ("highest", 65, "highest"),  # an int Canvas ignores is not shown
        (None, None, "highest"),  # a null method is highest
        ("latest", None, "latest"),
    ],
)
def test_a_method_has_one_label(
    method: str | None, calculation_int: int | None, label: str
) -> None:
    assert method_label(method, calculation_int) == label


def test_the_table_and_the_tree_name_a_method_alike(store: str) -> None:
    tree = run("hierarchy", "--store", store, "--context", "Course:601").stdout
    assert "· decaying_average 63" in tree and "weighted" not in tree
    table = run("query", "--store", store, "--course", "601", "--user", STUDENT).stdout
    assert "standard_decaying_average 80" in table and "decaying 80" not in table.replace(
        "standard_decaying_average 80", ""
    )
