"""The optional DuckDB reference of the benchmark: it answers, and it is optional."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from replay.bench.duckdb_reference import RESULT_EVENTS, duckdb_reference
from replay.synthetic.generate import GeneratorSettings, write_dump

SETTINGS = GeneratorSettings(
    students=40,
    courses=2,
    outcomes=6,
    results_per_student=10,
    seed=11,
    duplicates=0.05,
    shuffle_seconds=600,
    legacy=0.05,
)


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("duckdb") / "dump.jsonl"
    with path.open("wb") as out:
        write_dump(SETTINGS, out)
    return path


def pairs_in(dump: Path) -> set[tuple[str, str]]:
    """(student, outcome) pairs with a result, computed independently of DuckDB."""
    pairs = set()
    with dump.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            body = event["body"]
            if event["metadata"]["event_name"] in RESULT_EVENTS and body.get("user_uuid"):
                pairs.add((str(body["user_uuid"]), str(body["learning_outcome_id"])))
    return pairs


def test_duckdb_finds_every_student_outcome_pair_and_reports_its_figures(dump: Path) -> None:
    pytest.importorskip("duckdb", reason="the optional reference: pip install -e '.[bench]'")
    figures = duckdb_reference(dump, threads=1)
    assert figures is not None
    assert figures["threads"] == 1
    expected = pairs_in(dump)
    assert len(expected) > 0
    assert figures["pairs"] == len(expected)
    assert figures["events"] == sum(1 for _ in dump.open("rb"))
    for key in ("load_seconds", "compute_seconds", "seconds", "events_per_second"):
        assert figures[key] > 0, key
    assert figures["seconds"] >= figures["load_seconds"]


def test_without_duckdb_there_is_no_reference(dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    assert duckdb_reference(dump) is None
