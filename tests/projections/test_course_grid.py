"""A course grid as of T is, key by key, what each student's own question answers.

The grid is read by one scan of the course's result versions (`scanned_results`), a
student's question by a window over that student's results (`latest_results`): two
paths to one answer, compared here on a generated dump and on colliding result ids.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from projections import rollups
from projections.queries import MasteryQueries, MasteryQuestion
from projections.rollups import RollupRecord
from replay.jobs.pipeline import open_read_side, run_replay
from replay.store.location import open_store
from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.builders import OTHER_STUDENT, STUDENT, outcome, result
from tests.projections.helpers import replay_events

GENERATED = GeneratorSettings(
    students=45,
    outcomes=8,
    results_per_student=16,
    courses=2,
    seed=21,
    duplicates=0.05,
    shuffle_seconds=3600,
    legacy=0.05,
)


def answers_agree(db: sqlite_utils.Database, course: str, moment: datetime | None) -> int:
    """Assert the grid equals every (student, outcome) question; returns the grid's size."""
    queries = MasteryQueries(db)
    grid = {
        record.key: record.rollup
        for record in queries.rollups(MasteryQuestion(course=course, as_of=moment))
    }
    pairs = db.execute(
        "SELECT DISTINCT user_uuid, outcome_id FROM result_versions "
        "WHERE context_id = ? AND user_uuid IS NOT NULL",
        [course],
    ).fetchall()
    asked = {}
    for user, outcome_id in pairs:
        found = queries.rollups(
            MasteryQuestion(users=[user], outcomes=[outcome_id], course=course, as_of=moment)
        )
        asked.update((record.key, record.rollup) for record in found)
    assert grid == asked
    return len(grid)


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("grid")
    dump = base / "dump.jsonl"
    with dump.open("wb") as out:
        write_dump(GENERATED, out)
    run_replay(open_store(str(base / "store"), create=True), [str(dump)])
    return base / "store"


@pytest.fixture(scope="module")
def generated(generated_store: Path) -> sqlite_utils.Database:
    return open_read_side(open_store(str(generated_store), create=False))


def test_a_generated_course_grid_equals_each_students_answers(
    generated: sqlite_utils.Database,
) -> None:
    first, last = (
        datetime.fromisoformat(value)
        for value in generated.execute(
            "SELECT MIN(event_time), MAX(event_time) FROM result_versions"
        ).fetchone()
    )
    courses = [row[0] for row in generated.execute("SELECT DISTINCT context_id FROM rollups")]
    assert len(courses) == 2
    for course in courses:
        sizes = [
            answers_agree(generated, course, first + (last - first) * k / 4) for k in range(1, 5)
        ]
        assert 0 < sizes[0] <= sizes[-1]
        after = last + timedelta(days=1)
        as_of_after = MasteryQueries(generated).rollups(MasteryQuestion(course=course, as_of=after))
        current = MasteryQueries(generated).rollups(MasteryQuestion(course=course))
        assert [shown(record) for record in as_of_after] == [shown(record) for record in current]


def test_a_grid_asked_while_a_statement_of_the_connection_runs_is_the_same(
    generated: sqlite_utils.Database, generated_store: Path
) -> None:
    """The grid's rows come through a function SQLite calls, which cannot be replaced
    while a statement of the connection runs: then they come through a cursor."""
    course = generated.execute("SELECT context_id FROM rollups LIMIT 1").fetchone()[0]
    question = MasteryQuestion(course=course, as_of=datetime(2030, 1, 1, tzinfo=UTC))
    expected = MasteryQueries(generated).rollups(question)
    db = open_read_side(open_store(str(generated_store), create=False))
    try:
        running = db.conn.execute("SELECT result_id FROM result_versions")
        assert running.fetchone() is not None
        # registered, but not let go of; then not replaceable: read with a cursor
        assert MasteryQueries(db).rollups(question) == expected
        assert MasteryQueries(db).rollups(question) == expected
        running.close()
        assert MasteryQueries(db).rollups(question) == expected
    finally:
        db.close()


def test_an_error_while_the_grid_is_read_comes_out_as_itself(
    generated: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not as SQLite's "user-defined function raised exception"; the connection stays usable."""
    course = generated.execute("SELECT context_id FROM rollups LIMIT 1").fetchone()[0]
    question = MasteryQuestion(course=course, as_of=datetime(2030, 1, 1, tzinfo=UTC))
    expected = MasteryQueries(generated).rollups(question)

    def unreadable(text: str | None) -> None:
        raise ValueError(f"not a time: {text!r}")

    monkeypatch.setattr(rollups, "moment_of", unreadable)
    with pytest.raises(ValueError, match="not a time"):
        MasteryQueries(generated).rollups(question)
    monkeypatch.undo()
    assert MasteryQueries(generated).rollups(question) == expected


def shown(record: RollupRecord) -> tuple[object, ...]:
    """A rollup as the `rollups` table keeps it (a rating without its mastery flag)."""
    rollup, rating = record.rollup, record.rollup.rating
    return (
        record.key,
        replace(rollup, rating=None),
        None if rating is None else (rating.description, rating.points, rating.color),
    )


def test_colliding_result_ids_count_where_their_latest_version_is(tmp_path: Path) -> None:
    """Ids reused across students and courses, versions without a student or a course."""
    store = tmp_path / "store"
    day = "2025-02-{:02d}T10:00:00Z".format
    replay_events(
        store,
        [
            outcome("1", method="average"),
            result("10", 1, at=day(1)),
            result("1", 2, at=day(1)),  # then Bob's: another student
            result("1", 2, at=day(10), user=OTHER_STUDENT, name="learning_outcome_result_updated"),
            result("2", 3, at=day(1)),  # then in course 566
            result("2", 3, at=day(10), course="566", name="learning_outcome_result_updated"),
            result("3", 4, at=day(2)),  # then without a student, in course 566
            result(
                "3",
                4,
                at=day(12),
                course="566",
                user_uuid=None,
                name="learning_outcome_result_updated",
            ),
            result("4", 5, at=day(3), user=OTHER_STUDENT),  # then without a course
            result(
                "4", 5, at=day(12), result_context_id=None, name="learning_outcome_result_updated"
            ),
            result("5", 0, at=day(4)),  # then deleted
            result(
                "5", 0, at=day(11), workflow_state="deleted", name="learning_outcome_result_updated"
            ),
            result("6", 5, at=day(2), course="566", user=OTHER_STUDENT),  # then Ada's, here
            result("6", 5, at=day(9), name="learning_outcome_result_updated"),
        ],
    )
    db = open_read_side(open_store(str(store), create=False))
    try:
        moments = [datetime(2025, 2, d, 12, tzinfo=UTC) for d in (1, 5, 9, 11, 15)]
        for moment in [*moments, None]:
            for course in ("565", "566"):
                answers_agree(db, course, moment)

        def counted(moment: datetime) -> dict[str, int]:
            grid = MasteryQueries(db).rollups(MasteryQuestion(course="565", as_of=moment))
            return {record.key[1]: record.rollup.count for record in grid}

        assert counted(moments[1]) == {STUDENT: 5, OTHER_STUDENT: 1}  # 10 1 2 3 5; 4
        assert counted(moments[4]) == {STUDENT: 2, OTHER_STUDENT: 1}  # 10 6; 1
        # the live rollups (kept by the projection) are the answer as of a later time:
        # a result whose latest version names no student or no course left its key
        for course in ("565", "566"):
            later = MasteryQuestion(course=course, as_of=datetime(2030, 1, 1, tzinfo=UTC))
            as_of_later = [shown(record) for record in MasteryQueries(db).rollups(later)]
            current = MasteryQueries(db).rollups(MasteryQuestion(course=course))
            assert [shown(record) for record in current] == as_of_later, course
    finally:
        db.close()
