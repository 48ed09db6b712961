"""What a gradebook needs beyond the exports: the courses, a course's span of time,
a page of students, one outcome's column, a course's results in Canvas's API shape
(a student's mastery over time is in projections/history.py).

Every answer is computed from the version tables by the code the exports and
`mastery query` use (`MasteryQueries`, `CourseView`), so a page of the web view
says exactly what the command line says of the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlite_utils

from domain.course_summary import course_aggregate
from projections.exports import CourseView, score_json
from projections.grid_scan import scanned_results
from projections.queries import MasteryQueries, MasteryQuestion
from projections.rollups import (
    RollupRecord,
    one_snapshot,
    rollup_records,
)
from projections.settings import SettingsResolver
from projections.tree import id_key


@dataclass(frozen=True, slots=True)
class CourseSummary:
    """A course as the courses list shows it (now: every version the store holds)."""

    root_account: str
    course_id: str
    students: int
    outcomes: int
    results: int
    first_event: str | None
    last_event: str | None


def course_summaries(db: sqlite_utils.Database) -> list[CourseSummary]:
    """Every course the store knows a result or an outcome link of, in id order."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for root, course, students, outcomes, results, first, last in db.execute(
        "SELECT root_account, context_id, count(DISTINCT user_uuid), "
        "count(DISTINCT outcome_id), count(DISTINCT result_id), min(event_time), "
        "max(event_time) FROM result_versions WHERE context_type = 'Course' "
        "AND context_id IS NOT NULL GROUP BY root_account, context_id"
    ):
        found[(root, course)] = {
            "students": students,
            "outcomes": outcomes,
            "results": results,
            "first": first,
            "last": last,
        }
    for root, course, outcomes, first, last in db.execute(
        "SELECT root_account, context_id, count(DISTINCT outcome_id), min(event_time), "
        "max(event_time) FROM outcome_link_versions WHERE context_type = 'Course' "
        "AND context_id IS NOT NULL GROUP BY root_account, context_id"
    ):
        entry = found.setdefault(
            (root, course),
            {"students": 0, "outcomes": 0, "results": 0, "first": first, "last": last},
        )
        entry["outcomes"] = max(entry["outcomes"], outcomes)
        entry["first"] = min(filter(None, (entry["first"], first)), default=None)
        entry["last"] = max(filter(None, (entry["last"], last)), default=None)
    return [
        CourseSummary(
            root,
            course,
            entry["students"],
            entry["outcomes"],
            entry["results"],
            entry["first"],
            entry["last"],
        )
        for (root, course), entry in sorted(found.items(), key=lambda i: id_key(i[0][1]))
    ]


def course_span(db: sqlite_utils.Database, root_account: str, course: str) -> tuple[str, str]:
    """The first and last event_time of the course's results, groups and links."""
    first, last = None, None
    for table in ("result_versions", "outcome_link_versions", "outcome_group_versions"):
        row = db.execute(
            f"SELECT min(event_time), max(event_time) FROM {table} WHERE root_account = ? "
            "AND context_type = 'Course' AND context_id = ?",
            [root_account, course],
        ).fetchone()
        if row[0] is not None:
            first = row[0] if first is None else min(first, row[0])
            last = row[1] if last is None else max(last, row[1])
    if first is None or last is None:
        raise ValueError(f"course {course}: no event is known")
    return first, last


def _question(view: CourseView, **narrowed: Any) -> MasteryQuestion:
    return MasteryQuestion(
        course=view.course,
        as_of=view.question.as_of,
        known_at=view.question.known_at,
        root_account=view.root_account,
        **narrowed,
    )


def students_rollups(
    view: CourseView, users: Sequence[str], outcomes: Sequence[str] | None = None
) -> dict[str, list[RollupRecord]]:
    """These students' rollups of the course's outcomes (or of `outcomes`), by student,
    each in the course's outcome order (as `CourseView.rollups_by_student` gives them)."""
    wanted = {o.outcome_id for o in view.outcomes}
    if outcomes is not None:
        wanted &= set(outcomes)
    by_student: dict[str, list[RollupRecord]] = {user: [] for user in users}
    if not users or not wanted:
        return by_student
    for record in _rollups_of(view, list(users)):
        if record.key[2] in wanted and record.key[1] in by_student:
            by_student[record.key[1]].append(record)
    for records in by_student.values():
        records.sort(key=lambda r: id_key(r.key[2]))
    return by_student


def course_grid(view: CourseView) -> dict[str, list[RollupRecord]]:
    """Every student's rollups of the course's outcomes, by student, from one scan of the
    course (the grid path of `mastery query --course`): what `rollups_by_student` gives
    for a whole course, in about a third of its time. Students without a rollup of the
    course's outcomes are absent."""
    wanted = {o.outcome_id for o in view.outcomes}
    by_student: dict[str, list[RollupRecord]] = {}
    for record in MasteryQueries(view.db).rollups(_question(view)):
        if record.key[2] in wanted:
            by_student.setdefault(record.key[1], []).append(record)
    for records in by_student.values():
        records.sort(key=lambda r: id_key(r.key[2]))
    return by_student


@dataclass(frozen=True, slots=True)
class CourseFacts:
    """What does not depend on the moment asked: the span of the course's events, and
    when each student's first result (with an outcome) happened."""

    first_event: str
    last_event: str
    first_result: dict[str, str]

    def students_as_of(self, valid: str) -> list[str]:
        """`CourseView.students()` as of a valid time, with no known-time limit."""
        return sorted(user for user, first in self.first_result.items() if first <= valid)


def course_facts(db: sqlite_utils.Database, root_account: str, course: str) -> CourseFacts:
    first, last = course_span(db, root_account, course)
    rows = db.execute(
        "SELECT user_uuid, min(event_time) FROM result_versions WHERE root_account = ? "
        "AND context_type = 'Course' AND context_id = ? AND user_uuid IS NOT NULL "
        "AND outcome_id IS NOT NULL GROUP BY user_uuid",
        [root_account, course],
    )
    return CourseFacts(first, last, {str(user): str(at) for user, at in rows})


def applied_position(db: sqlite_utils.Database) -> int:
    """The log position the read models have applied (what a cache of them is valid for)."""
    row = db.execute("SELECT max(position) FROM tracking").fetchone()
    return int(row[0] or 0)


def _rollups_of(view: CourseView, users: list[str]) -> list[RollupRecord]:
    """These students' rollups in the course at the view's moment.

    Now: the `rollups` table. As of a moment: the grid's one scan of their versions
    (`scanned_results`, by the student index) rather than the window over every version
    that `MasteryQueries` uses for a few students: about half the time for a page of
    100 students of 200 results each, the same records (the filter names key columns
    only, which is what the scan needs to be exact).
    """
    question = _question(view, users=users)
    if view.moment.is_now:
        return MasteryQueries(view.db).rollups(question)
    marks = ",".join("?" * len(users))
    where = (
        f"user_uuid IN ({marks}) AND context_id = ? AND context_type = 'Course' "
        "AND root_account = ?"
    )
    params = [*users, view.course, view.root_account]
    records: list[RollupRecord] = []
    with one_snapshot(view.db):
        resolver = SettingsResolver(view.db, view.moment)
        for part in scanned_results(view.db, where, params, view.moment, view.course):
            records += rollup_records(part, resolver, across_courses=False)
    return records


def outcome_column(view: CourseView, outcome_id: str) -> dict[str, RollupRecord]:
    """Every student's rollup of one outcome of the course, by student."""
    records = MasteryQueries(view.db).rollups(_question(view, outcomes=[outcome_id]))
    return {r.key[1]: r for r in records if r.key[2] == outcome_id}


def aggregate_json(
    view: CourseView,
    how: Literal["mean", "median"],
    users: Sequence[str] | None = None,
    outcomes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The course's one rollup (`aggregate=course`), over `users` and `outcomes` if given
    (the whole course: exactly `aggregate_rollup_json`)."""
    grid = course_grid(view)
    students = view.students() if users is None else sorted(set(users) & set(view.students()))
    wanted = None if outcomes is None else set(outcomes)
    scores: dict[str, list[float | None]] = {}
    for student in students:
        for record in grid.get(student, ()):
            if record.rollup.count > 0 and (wanted is None or record.key[2] in wanted):
                scores.setdefault(record.key[2], []).append(record.rollup.score)
    return {
        "scores": [
            score_json(outcome_id, None, course_aggregate(values, how), len(values))
            for outcome_id, values in sorted(scores.items(), key=lambda item: id_key(item[0]))
        ],
        "links": {"course": view.course},
    }


RESULT_FIELDS = (
    "result_id, user_uuid, outcome_id, score, mastery, possible, percent, assessed_at, "
    "associated_asset_type, associated_asset_id, attempt"
)


def course_results(
    view: CourseView,
    users: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """The course's results in their version at the moment (not deleted, of a student),
    in (student, outcome, result id) order: (how many in all, the rows asked for)."""
    where = (
        "root_account = ? AND context_type = 'Course' AND context_id = ? "
        "AND user_uuid IS NOT NULL AND outcome_id IS NOT NULL "
        "AND event_time <= ? AND recorded_at <= ?"
    )
    params: list[Any] = [view.root_account, view.course, view.moment.valid, view.moment.known]
    if users:
        where += f" AND user_uuid IN ({','.join('?' * len(users))})"
        params += list(users)
    if outcomes:
        where += f" AND outcome_id IN ({','.join('?' * len(outcomes))})"
        params += list(outcomes)
    source = (
        f"FROM (SELECT {RESULT_FIELDS}, workflow_state, ROW_NUMBER() OVER (PARTITION BY "
        f"root_account, result_id ORDER BY valid_order DESC) AS version_rank "
        f"FROM result_versions WHERE {where}) WHERE version_rank = 1 "
        "AND workflow_state IS NOT 'deleted'"
    )
    with one_snapshot(view.db):
        total = int(view.db.execute(f"SELECT count(*) {source}", params).fetchone()[0])
        cursor = view.db.execute(
            f"SELECT {RESULT_FIELDS} {source} ORDER BY user_uuid, length(outcome_id), "
            "outcome_id, length(result_id), result_id LIMIT ? OFFSET ?",
            [*params, -1 if limit is None else limit, offset],
        )
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor]
    return total, rows
