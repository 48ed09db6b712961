"""What a gradebook needs beyond the exports: the courses, a course's span of time,
a page of students, one outcome's column, a course's results in Canvas's API shape,
and a student's mastery over time.

Every answer is computed from the version tables by the code the exports and
`mastery query` use (`MasteryQueries`, `CourseView`), so a page of the web view
says exactly what the command line says of the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from domain.course_summary import course_aggregate
from projections.exports import CourseView, score_json
from projections.grid_scan import scanned_results
from projections.queries import MasteryQueries, MasteryQuestion
from projections.rollups import (
    ROLLUP_COLUMNS,
    VERSION_FIELDS,
    RollupRecord,
    one_snapshot,
    rollup_records,
    score_rows,
)
from projections.rows import time_text
from projections.settings import END_OF_TIME, Moment, SettingsResolver
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


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """A student's rollup of one outcome from `at` on (valid time), and what changed it."""

    at: str
    score: float | None
    count: int
    rating: str | None
    color: str | None
    mastery: bool | None
    causes: tuple[dict[str, Any], ...]


def _settings_changes_since(
    db: sqlite_utils.Database, root_account: str, moments: set[str], known: str
) -> set[str]:
    """`moments`, and every later moment at which a setting that can change a rollup
    (an outcome, a mastery scale, a calculation method of the root account) changed."""
    if not moments:
        return moments
    first = min(moments)
    for table in ("outcome_versions", "mastery_scale_versions", "calculation_method_versions"):
        moments.update(
            row[0]
            for row in db.execute(
                f"SELECT DISTINCT event_time FROM {table} WHERE root_account = ? "
                "AND event_time > ? AND recorded_at <= ?",
                [root_account, first, known],
            )
        )
    return moments


def student_history(
    db: sqlite_utils.Database,
    root_account: str,
    course: str,
    user_uuid: str,
    outcome_ids: Sequence[str],
    known_at: datetime | None = None,
) -> dict[str, list[HistoryPoint]]:
    """Each outcome's rollup over valid time: one point per moment it changed.

    Exact: the rollup is recomputed as of every event_time at which one of the
    student's results in the course changed, or a setting that can change it did
    (an outcome, a mastery scale, a calculation method of the root account), and a
    point is kept where the score, count or rating differ from the point before. A
    point names the results whose versions took effect at its moment.

    The student's results are read once, every version of each (under any key, as
    `latest_results` reads them), and walked forward in valid time: at each moment
    each result is in its latest version so far, grouped and rolled up by the code
    every other answer uses, under the settings in force then.
    """
    known = time_text(known_at) or END_OF_TIME
    versions = db.execute(
        "WITH candidates AS (SELECT DISTINCT root_account, result_id FROM result_versions "
        "WHERE user_uuid = ? AND context_type = 'Course' AND context_id = ? "
        "AND root_account = ?) "
        f"SELECT {ROLLUP_COLUMNS}, r.event_time, r.canvas_event FROM candidates c "
        "JOIN result_versions r ON r.root_account = c.root_account "
        "AND r.result_id = c.result_id WHERE r.recorded_at <= ? ORDER BY r.event_time",
        [user_uuid, course, root_account, known],
    ).fetchall()
    width = len(VERSION_FIELDS)
    key = (root_account, user_uuid)
    causes: dict[str, list[dict[str, Any]]] = {}
    for row in versions:
        if tuple(row[:2]) == key and row[3] == "Course" and row[4] == course:
            causes.setdefault(row[width], []).append(
                {
                    "outcome_id": row[2],
                    "result_id": row[5],
                    "score": row[8],
                    "event": row[width + 1],
                }
            )
    moments = _settings_changes_since(db, root_account, set(causes), known)
    wanted = set(outcome_ids)
    series: dict[str, list[HistoryPoint]] = {o: [] for o in outcome_ids}
    latest: dict[tuple[str, str], Any] = {}
    upcoming = iter(versions)
    pending = next(upcoming, None)
    with one_snapshot(db):
        for at in sorted(moments):
            while pending is not None and pending[width] <= at:
                result = (pending[0], pending[5])
                held = latest.get(result)
                if held is None or pending[6] > held[6]:
                    latest[result] = pending
                pending = next(upcoming, None)
            grouped: dict[Any, list[Any]] = {}
            for row in latest.values():
                mine = tuple(row[:2]) == key and row[3] == "Course" and row[4] == course
                if mine and row[2] is not None:
                    grouped.setdefault(tuple(row[:5]), []).append(row[:width])
            resolver = SettingsResolver(db, Moment(valid=at, known=known))
            records = rollup_records(score_rows(grouped), resolver, across_courses=False)
            here = causes.get(at, [])
            seen = set()
            for record in records:
                outcome_id = record.key[2]
                if outcome_id not in wanted:
                    continue
                seen.add(outcome_id)
                _append(series[outcome_id], at, outcome_id, record, here)
            for outcome_id in wanted - seen:  # every result gone (deleted, moved)
                _append(series[outcome_id], at, outcome_id, None, here)
    return series


def _append(
    points: list[HistoryPoint],
    at: str,
    outcome_id: str,
    record: RollupRecord | None,
    here: list[dict[str, Any]],
) -> None:
    rollup = record.rollup if record is not None else None
    rating = rollup.rating if rollup is not None else None
    point = HistoryPoint(
        at=at,
        score=rollup.score if rollup is not None and rollup.count > 0 else None,
        count=rollup.count if rollup is not None else 0,
        rating=(rating.description or str(rating.points)) if rating is not None else None,
        color=rating.color if rating is not None else None,
        mastery=rollup.mastery if rollup is not None else None,
        causes=tuple(c for c in here if c["outcome_id"] == outcome_id),
    )
    if not points and point.count == 0:
        return
    if points and (points[-1].score, points[-1].count, points[-1].rating) == (
        point.score,
        point.count,
        point.rating,
    ):
        return
    points.append(point)
