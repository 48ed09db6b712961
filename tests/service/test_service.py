"""The application service, asked directly as a Python program would (no CLI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from replay.service import (
    BadInput,
    BadQuestion,
    MasteryService,
    NotFound,
    StoreUnavailable,
    question,
    rollup_json,
)

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"
STUDENT = "5cr9jQY6cxkTWDU2DQ1nxknDJ8zKWxLLHXsuPZMQ"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> MasteryService:
    service = MasteryService.open(str(tmp_path_factory.mktemp("svc") / "store"), create=True)
    summary = service.replay([str(SAMPLE)])
    assert summary.appended == 820
    return service


def test_a_missing_store_is_unavailable_and_not_created(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="mastery replay"):
        MasteryService.open(str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()


def test_a_dump_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    service = MasteryService.open(str(tmp_path / "store"), create=True)
    with pytest.raises(BadInput, match=r"no-such\.jsonl"):
        service.replay([str(tmp_path / "no-such.jsonl")])


def test_replaying_reports_progress_through_the_callback_it_is_given(tmp_path: Path) -> None:
    seen: list[tuple[str, str, int]] = []

    @contextmanager
    def record(total: int | None, *, unit: str, label: str) -> Iterator[Any]:
        def update(completed: int, *, description: str | None = None) -> None:
            seen.append((label, unit, completed))

        yield update

    MasteryService.open(str(tmp_path / "store"), create=True).replay([str(SAMPLE)], progress=record)
    assert ("appending", "bytes", SAMPLE.stat().st_size) in seen
    assert ("projecting", "events", 820) in seen


def test_a_question_as_of_a_moment_sees_only_what_canvas_had_then(
    sample_store: MasteryService,
) -> None:
    now = sample_store.rollups(question(course="601", users=[STUDENT]))
    then = sample_store.rollups(question(course="601", users=[STUDENT], as_of="2025-02-01"))
    assert {r.key[2] for r in now} >= {r.key[2] for r in then}
    assert all(r.rollup.latest_assessed_at is not None for r in then)
    latest_then = max(r.rollup.latest_assessed_at for r in then if r.rollup.latest_assessed_at)
    assert latest_then.isoformat() <= "2025-02-01T23:59:59.999999+00:00"
    assert [rollup_json(r) for r in now] != [rollup_json(r) for r in then]


def test_one_reader_answers_several_questions_from_the_same_moment_of_the_store(
    sample_store: MasteryService,
) -> None:
    with sample_store.reading() as reader:
        rollups = reader.rollups(question(course="601"))
        titles = reader.outcome_titles(sorted({r.key[2] for r in rollups}))
        trees = reader.hierarchy(question(as_of="2025-01-10"), "Course:601")
    assert titles["2001"].startswith("MATH.6.1")
    assert [tree.context_id for tree in trees] == ["601"]


def test_a_malformed_moment_is_a_bad_question_naming_the_option(
    sample_store: MasteryService,
) -> None:
    with pytest.raises(BadQuestion, match="--as-of 'yesterday'"):
        question(as_of="yesterday")
    with sample_store.reading() as reader, pytest.raises(BadQuestion, match="Course:ID"):
        reader.hierarchy(question(), "Section:1")


def test_an_unknown_course_is_not_found(sample_store: MasteryService) -> None:
    with sample_store.reading() as reader:
        with pytest.raises(NotFound):
            reader.course("999999")
        with pytest.raises(NotFound):
            reader.hierarchy(question(), "Course:999999")


def test_the_change_feed_iterates_in_sequence_and_resumes_after_the_last_seen(
    sample_store: MasteryService,
) -> None:
    changes = list(sample_store.changes())
    sequences = [change["sequence"] for change in changes]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert list(sample_store.changes(after=sequences[-1])) == []
    assert list(sample_store.changes(after=sequences[9], limit=5)) == changes[10:15]


def test_the_service_copies_a_store_it_can_then_answer_from(
    sample_store: MasteryService, tmp_path: Path
) -> None:
    target = MasteryService.open(str(tmp_path / "copy"), create=True)
    report = sample_store.copy_to(target, batch_size=300)
    assert report.complete and report.copied == 820
    asked = question(course="601", as_of="2025-03-01")
    assert [rollup_json(r) for r in target.rollups(asked)] == [
        rollup_json(r) for r in sample_store.rollups(asked)
    ]
    with pytest.raises(BadQuestion):
        sample_store.copy_to(sample_store, batch_size=10)


def test_a_rebuild_gives_the_same_answers(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE.parent, tmp_path / "data")
    service = MasteryService.open(str(tmp_path / "store"), create=True)
    service.replay([str(tmp_path / "data" / "sample.jsonl")])
    asked = question(as_of="2025-03-01")
    before = [rollup_json(r) for r in service.rollups(asked)]
    report = service.rebuild()
    assert report["events"] == 820
    assert [rollup_json(r) for r in service.rollups(asked)] == before
