"""A store written by an earlier version keeps its answers (stored topics still resolve).

tests/fixtures/store-5b54a7b holds the log, quarantine and store.json that the
program at commit 5b54a7b wrote for data/sample.jsonl (before replay/ was split
into sub-packages), and that program's answers, saved as `mastery ... --format json`
printed them. The read models are left out: this program makes its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.replay.helpers import run

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-5b54a7b"
STUDENT = "5cr9jQY6cxkTWDU2DQ1nxknDJ8zKWxLLHXsuPZMQ"

QUESTIONS = {
    "query.json": ["query", "--format", "json"],
    "query-as-of-2025-02-01.json": ["query", "--as-of", "2025-02-01", "--format", "json"],
    "query-all-courses.json": ["query", "--all-courses", "--user", STUDENT, "--format", "json"],
    "hierarchy.json": ["hierarchy", "--format", "json"],
    "hierarchy-as-of-2025-01-10.json": ["hierarchy", "--as-of", "2025-01-10", "--format", "json"],
    "rollups-601.json": ["rollups", "--course", "601", "--format", "json"],
}


@pytest.fixture(scope="module")
def old_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("old") / "store"
    shutil.copytree(FIXTURE, store, ignore=shutil.ignore_patterns("expected"))
    return store


@pytest.mark.parametrize("answer", sorted(QUESTIONS))
def test_a_store_written_by_5b54a7b_gives_the_answers_it_gave(old_store: Path, answer: str) -> None:
    result = run(*QUESTIONS[answer], "--store", str(old_store))
    assert result.exit_code == 0, result.output
    expected: Any = orjson.loads((FIXTURE / "expected" / answer).read_bytes())
    assert orjson.loads(result.stdout) == expected


def test_a_store_written_by_5b54a7b_verifies_and_rebuilds(old_store: Path) -> None:
    assert run("verify", "--store", str(old_store)).exit_code == 0
    rebuilt = run("rebuild", "--store", str(old_store), "--json")
    assert orjson.loads(rebuilt.stdout)["events"] == 820
    again = run(*QUESTIONS["query.json"], "--store", str(old_store))
    assert orjson.loads(again.stdout) == orjson.loads(
        (FIXTURE / "expected" / "query.json").read_bytes()
    )
