"""Canvas-shaped views of a course's mastery: rollups, the gradebook export, ratings.

Tools written against Canvas read these unchanged. What is matched, from
instructure/canvas-lms:

* `GET /api/v1/courses/:id/outcome_rollups` (OutcomeResultsController#rollups,
  lib/api/v1/outcome_results.rb): `{"rollups": [...]}`, one rollup per student
  `{"scores": [...], "links": {"user": id}}`, each score
  `{"score", "title", "submitted_at", "count", "hide_points", "links": {"outcome"}}`
  (`serialize_rollup_score`); with `aggregate=course`, one rollup
  `{"scores": [...], "links": {"course": id}}` whose score is the mean of the
  students' scores rounded to 2 places, or their median, not rounded
  (RollupScoreAggregatorHelper), over the students with a score.
* the Learning Mastery Gradebook CSV (`outcome_results_rollups_csv`): "Student name",
  "Student ID", "Student SIS ID", then for each outcome "<path> result" and
  "<path> mastery points", the path being `outcome_group_prefix` (groups below the
  root group, then the outcome's title) joined by " > ".
* the gradebook header's rating distribution (`ResultAnalytics#rating_percents`,
  sent as `linked.outcomes[].ratings[].percent`).

What live events cannot fill: Canvas's numeric user ids, names and SIS ids (the
student is their `user_uuid`), sections, result titles (`title` is null) and
`hide_points` (false). The course's outcomes are those with an active link in the
course at the moment asked (Canvas's `require_outcomes`); when the store knows no
link of the course at all (a dump without its setup events), every outcome with a
result there stands in, and `CourseView.outcomes_from_links` says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlite_utils

from domain.course_summary import course_aggregate, rating_distribution
from domain.ids import InvalidId, normalise_id
from domain.rating import Rating
from domain.rollup import Rollup
from domain.rollup_settings import RollupSettings
from projections.hierarchy import HierarchyQueries
from projections.queries import MasteryQueries, MasteryQuestion
from projections.rollups import RollupRecord
from projections.settings import Moment, SettingsResolver
from projections.tree import id_key

STUDENTS_PER_QUERY = 500


class ExportError(ValueError):
    """The course cannot be exported as asked (unknown, or in several root accounts)."""


def course_root_accounts(db: sqlite_utils.Database, course: str) -> list[str]:
    """The root accounts in which the store knows a result or an outcome link of `course`."""
    rows = db.execute(
        "SELECT root_account FROM result_versions WHERE context_id = ? "
        "AND context_type = 'Course' UNION SELECT root_account FROM outcome_link_versions "
        "WHERE context_id = ? AND context_type = 'Course'",
        [course, course],
    ).fetchall()
    return sorted(str(row[0]) for row in rows)


def unknown_course(course: str) -> str:
    return f"course {course}: no result or outcome link is known"


@dataclass(frozen=True, slots=True)
class CourseOutcome:
    """An outcome as the course shows it: where it is linked, what is in force."""

    outcome_id: str
    title: str | None
    display_name: str | None
    path: str
    group_id: str | None
    group_title: str | None
    settings: RollupSettings
    csv_mastery_points: float | None


class CourseView:
    """One course at one moment, read student by student (bounded memory)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        course: str,
        *,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
        root_account: str | None = None,
    ) -> None:
        self.db = db
        try:
            self.course = normalise_id(course)
        except InvalidId as error:
            raise ExportError(f"--course {course!r}: {error}") from None
        self.question = MasteryQuestion(course=self.course, as_of=as_of, known_at=known_at)
        self.moment: Moment = self.question.moment
        self.root_account = root_account or self._only_root_account()
        self.resolver = SettingsResolver(db, self.moment)
        self.outcomes_from_links = True
        self.outcomes = self._outcomes()
        self._wanted = {outcome.outcome_id for outcome in self.outcomes}

    def _only_root_account(self) -> str:
        rows = course_root_accounts(self.db, self.course)
        if not rows:
            raise ExportError(unknown_course(self.course))
        if len(rows) > 1:
            accounts = ", ".join(rows)
            raise ExportError(
                f"course {self.course} is in several root accounts ({accounts}): "
                "pass --root-account"
            )
        return rows[0]

    def _outcomes(self) -> list[CourseOutcome]:
        context = (self.root_account, "Course", self.course)
        snapshot = HierarchyQueries(self.db).snapshot(context, self.moment)
        placed: dict[str, tuple[Any, str | None, str | None]] = {}
        stack = list(snapshot.nodes)
        while stack:
            node = stack.pop()
            for entry in node.outcomes:
                first = placed.get(entry.outcome_id)
                if first is None or id_key(entry.link_id) < id_key(first[0].link_id):
                    placed[entry.outcome_id] = (entry, node.group_id, node.title)
            stack.extend(node.groups)
        if not placed and not self._any_link_known():
            self.outcomes_from_links = False
            return [self._course_outcome(o, None, None, None) for o in self._assessed_outcomes()]
        # Canvas lists them in the order of their links (`@outcome_links`).
        return [
            self._course_outcome(outcome_id, *placed[outcome_id])
            for outcome_id in sorted(placed, key=lambda o: id_key(placed[o][0].link_id))
        ]

    def _any_link_known(self) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM outcome_link_versions WHERE root_account = ? AND context_type = "
            "'Course' AND context_id = ? AND event_time <= ? AND recorded_at <= ? LIMIT 1",
            [self.root_account, self.course, self.moment.valid, self.moment.known],
        ).fetchone()
        return row is not None

    def _assessed_outcomes(self) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT outcome_id FROM result_versions WHERE root_account = ? "
            "AND context_type = 'Course' AND context_id = ? AND outcome_id IS NOT NULL "
            "AND event_time <= ? AND recorded_at <= ?",
            [self.root_account, self.course, self.moment.valid, self.moment.known],
        ).fetchall()
        return sorted((str(row[0]) for row in rows), key=id_key)

    def _course_outcome(
        self, outcome_id: str, entry: Any, group_id: str | None, group_title: str | None
    ) -> CourseOutcome:
        row = self.resolver.outcome(self.root_account, outcome_id)
        title = row["title"] if row else None
        settings = self.resolver.settings_for(self.root_account, outcome_id, "Course", self.course)
        csv_mastery = settings.mastery_points
        if not self.resolver.uses_account_settings(self.root_account):
            # `outcome.data.dig(:rubric_criterion, :mastery_points)`: nil without one.
            csv_mastery = row["mastery_points"] if row else None
        return CourseOutcome(
            outcome_id=outcome_id,
            title=title,
            display_name=row["display_name"] if row else None,
            path=entry.path if entry is not None else title or f"[outcome {outcome_id}]",
            group_id=group_id,
            group_title=group_title,
            settings=settings,
            csv_mastery_points=csv_mastery,
        )

    # --- students -----------------------------------------------------------------

    def students(self) -> list[str]:
        """Every student with a result in the course at the moment, in uuid order."""
        if self.moment.is_now:
            sql = (
                "SELECT DISTINCT user_uuid FROM rollups WHERE root_account = ? "
                "AND context_type = 'Course' AND context_id = ?"
            )
            params: list[Any] = [self.root_account, self.course]
        else:
            sql = (
                "SELECT DISTINCT user_uuid FROM result_versions WHERE root_account = ? "
                "AND context_type = 'Course' AND context_id = ? AND user_uuid IS NOT NULL "
                "AND outcome_id IS NOT NULL AND event_time <= ? AND recorded_at <= ?"
            )
            params = [self.root_account, self.course, self.moment.valid, self.moment.known]
        return sorted(str(row[0]) for row in self.db.execute(sql, params))

    def rollups_by_student(self) -> Iterator[tuple[str, list[RollupRecord]]]:
        """Each student with their rollups of the course's outcomes, in uuid order.

        Students are asked for a few hundred at a time, so memory stays bounded by
        that many students' rollups whatever the size of the course.
        """
        queries = MasteryQueries(self.db)
        students = self.students()
        for start in range(0, len(students), STUDENTS_PER_QUERY):
            chunk = students[start : start + STUDENTS_PER_QUERY]
            question = MasteryQuestion(
                users=chunk,
                course=self.course,
                as_of=self.question.as_of,
                known_at=self.question.known_at,
                root_account=self.root_account,
            )
            by_student: dict[str, list[RollupRecord]] = {user: [] for user in chunk}
            for record in queries.rollups(question):
                if record.key[2] in self._wanted and record.key[1] in by_student:
                    by_student[record.key[1]].append(record)
            for user in chunk:
                records = sorted(by_student[user], key=lambda r: id_key(r.key[2]))
                yield user, records


def iso_seconds(moment: datetime | None) -> str | None:
    """Canvas API times: ISO 8601 in whole seconds, UTC as `Z`."""
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def score_json(outcome_id: str, rollup: Rollup | None, score: float | None, count: int) -> Any:
    """`serialize_rollup_score`; an aggregate has no title or submitted_at."""
    return {
        "score": score,
        "title": None,
        "submitted_at": iso_seconds(rollup.latest_assessed_at) if rollup else None,
        "count": count,
        "hide_points": False,
        "links": {"outcome": outcome_id},
    }


def student_rollup_json(user_uuid: str, records: list[RollupRecord]) -> dict[str, Any]:
    """One student's rollup: a score for each outcome with a scored result."""
    return {
        "scores": [
            score_json(r.key[2], r.rollup, r.rollup.score, r.rollup.count)
            for r in records
            if r.rollup.count > 0
        ],
        "links": {"user": user_uuid},
    }


def aggregate_rollup_json(view: CourseView, how: Literal["mean", "median"]) -> dict[str, Any]:
    """The course's one rollup (`aggregate=course`): per outcome, over its students.

    `count` is the number of students with a score entry for the outcome (scored or
    not, as Canvas counts them); the statistic skips those whose rollup has no score.
    """
    scores: dict[str, list[float | None]] = {}
    for _, records in view.rollups_by_student():
        for record in records:
            if record.rollup.count > 0:
                scores.setdefault(record.key[2], []).append(record.rollup.score)
    return {
        "scores": [
            score_json(outcome_id, None, course_aggregate(values, how), len(values))
            for outcome_id, values in sorted(scores.items(), key=lambda item: id_key(item[0]))
        ],
        "links": {"course": view.course},
    }


def gradebook_header(view: CourseView) -> list[str]:
    header = ["Student name", "Student ID", "Student SIS ID"]
    for outcome in view.outcomes:
        header += [f"{outcome.path} result", f"{outcome.path} mastery points"]
    return header


def gradebook_row(view: CourseView, user_uuid: str, records: list[RollupRecord]) -> list[Any]:
    """A student's row: the uuid names them (events carry no name or SIS id)."""
    scores = {r.key[2]: r.rollup.score for r in records if r.rollup.count > 0}
    row: list[Any] = [user_uuid, user_uuid, "N/A"]
    for outcome in view.outcomes:
        row += [scores.get(outcome.outcome_id), outcome.csv_mastery_points]
    return row


def rating_distribution_json(
    view: CourseView, by_student: Iterable[tuple[str, list[RollupRecord]]] | None = None
) -> list[dict[str, Any]]:
    """Per outcome of the course, Canvas's outcome fields and each rating's percent
    (over `by_student` when the caller has the course's rollups already)."""
    rollups: dict[str, list[Rollup]] = {o.outcome_id: [] for o in view.outcomes}
    for _, records in view.rollups_by_student() if by_student is None else by_student:
        for record in records:
            rollups[record.key[2]].append(record.rollup)
    documents = []
    for outcome in view.outcomes:
        settings = outcome.settings
        shares = rating_distribution(rollups[outcome.outcome_id], settings.ratings)
        documents.append(
            {
                "id": outcome.outcome_id,
                "title": outcome.title,
                "display_name": outcome.display_name,
                "path": outcome.path,
                "points_possible": settings.points_possible,
                "mastery_points": settings.mastery_points,
                "calculation_method": settings.calculation_method or "highest",
                "calculation_int": settings.calculation_int,
                "students": sum(1 for r in rollups[outcome.outcome_id] if r.count > 0),
                "ratings": [_rating_json(rating, percent) for rating, percent in shares],
            }
        )
    return documents


def _rating_json(rating: Rating, percent: int) -> dict[str, Any]:
    return {
        "description": rating.description,
        "points": rating.points,
        "color": rating.color,
        "mastery": rating.mastery,
        "percent": percent,
    }
