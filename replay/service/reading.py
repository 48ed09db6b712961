"""Questions asked of a store's read models: mastery now, as of T, as known at K.

A reader holds one connection to the read models, brought level with the log when
it was opened, so that every answer it gives is of the same moment of the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlite_utils

from domain.ids import InvalidId, normalise_id
from projections.browse import (
    CourseFacts,
    CourseSummary,
    aggregate_json,
    applied_position,
    course_facts,
    course_grid,
    course_results,
    course_span,
    course_summaries,
    outcome_column,
    students_rollups,
)
from projections.exports import (
    CourseView,
    ExportError,
    course_root_accounts,
    rating_distribution_json,
    unknown_course,
)
from projections.hierarchy import ContextTree, HierarchyQueries
from projections.history import HistoryPoint, student_history
from projections.queries import MasteryQueries, MasteryQuestion, QueryError, parse_moment
from projections.result_export import count_results, result_rows
from projections.rollups import RollupRecord
from replay.service.errors import BadQuestion, NotFound

CONTEXT_TYPES = {"course": "Course", "account": "Account"}

Moment = str | datetime | None
"""A time as a front door has it: an ISO 8601 text (a date means its end, UTC) or a datetime."""


def moment(value: Moment, *, option: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse_moment(value, option=option)
    except QueryError as error:
        raise BadQuestion(str(error)) from None


def question(
    *,
    users: Sequence[str] = (),
    outcomes: Sequence[str] = (),
    course: str | None = None,
    as_of: Moment = None,
    known_at: Moment = None,
    all_courses: bool = False,
) -> MasteryQuestion:
    """A mastery question; `as_of` and `known_at` as `mastery query` takes them."""
    if all_courses and course is not None:
        raise BadQuestion(
            "--all-courses rolls results up over every course: leave out --course, "
            "or leave out --all-courses for the rollups of one course"
        )
    try:
        return MasteryQuestion(
            users=tuple(users),
            outcomes=tuple(outcomes),
            course=course,
            as_of=moment(as_of, option="--as-of"),
            known_at=moment(known_at, option="--known-at"),
            all_courses=all_courses,
        )
    except QueryError as error:
        raise BadQuestion(str(error)) from None


def parse_context(text: str) -> tuple[str, str]:
    """`Course:601` or `Account:79` (the type in any case) -> ("Course", "601")."""
    kind, _, identifier = text.partition(":")
    context_type = CONTEXT_TYPES.get(kind.strip().lower())
    if context_type is None or not identifier.strip():
        raise BadQuestion(f"--context {text!r}: expected Course:ID or Account:ID, e.g. Course:601")
    try:
        return context_type, normalise_id(identifier)
    except InvalidId as error:
        raise BadQuestion(f"--context {text!r}: {error}") from None


class MasteryReader:
    """What can be asked of the read models; made by `MasteryService.reading()`."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self._db = db
        self._queries = MasteryQueries(db)

    def rollups(self, asked: MasteryQuestion) -> list[RollupRecord]:
        """Rollups per (student, outcome, course), sorted by key (see `stream_rollups`)."""
        return list(self.stream_rollups(asked))

    def stream_rollups(self, asked: MasteryQuestion) -> Iterator[RollupRecord]:
        """Rollups per (student, outcome, course), in key order, as they are read.

        A course the store knows nothing of is `NotFound`, as for every other question
        about a course; a known course with no rollup (yet, or for these students) is
        an empty answer.
        """
        if asked.course is not None and not course_root_accounts(self._db, asked.course):
            raise NotFound(unknown_course(asked.course))
        try:
            return self._queries.stream_rollups(asked)
        except QueryError as error:
            raise BadQuestion(str(error)) from None

    def outcome_titles(self, outcome_ids: Sequence[str]) -> dict[str, str]:
        return self._queries.outcome_titles(outcome_ids)

    def hierarchy(self, asked: MasteryQuestion, context: str | None = None) -> list[ContextTree]:
        """The group trees of every context, or of `context` ("Course:601"), at the moment."""
        wanted: tuple[str | None, str | None] = parse_context(context) if context else (None, None)
        trees = HierarchyQueries(self._db).trees(asked.moment, *wanted)
        if context and not trees:
            raise NotFound(f"no outcome group or link of {context} is known at that moment")
        return trees

    def course(
        self,
        course: str,
        *,
        as_of: Moment = None,
        known_at: Moment = None,
        root_account: str | None = None,
    ) -> CourseView:
        """One course at one moment, for the Canvas-shaped exports."""
        try:
            return CourseView(
                self._db,
                course,
                as_of=moment(as_of, option="--as-of"),
                known_at=moment(known_at, option="--known-at"),
                root_account=root_account,
            )
        except ExportError as error:
            raise NotFound(str(error)) from None

    def result_count(self, view: CourseView) -> int:
        return count_results(self._db, view)

    def result_rows(self, view: CourseView) -> Iterator[list[Any]]:
        """Canvas's Outcome Results report, a row per result (`RESULT_COLUMNS`)."""
        return result_rows(self._db, view)

    def distribution(self, view: CourseView) -> list[dict[str, Any]]:
        return rating_distribution_json(view)

    # -- what the web view and the API ask besides (replay/web) -----------------------
    def courses(self) -> list[CourseSummary]:
        """Every course the store knows: students, outcomes, results, first/last event."""
        return course_summaries(self._db)

    def course_span(self, view: CourseView) -> tuple[str, str]:
        """The first and last event_time of the course's results, groups and links."""
        try:
            return course_span(self._db, view.root_account, view.course)
        except ValueError as error:
            raise NotFound(str(error)) from None

    def course_facts(self, view: CourseView) -> CourseFacts:
        """The course's span and each student's first result: the same at every moment,
        so a front door may keep them while `applied_position()` stays the same."""
        try:
            return course_facts(self._db, view.root_account, view.course)
        except ValueError as error:
            raise NotFound(str(error)) from None

    def applied_position(self) -> int:
        """The log position the read models this reader sees have applied."""
        return applied_position(self._db)

    def students(self, view: CourseView, facts: CourseFacts | None = None) -> list[str]:
        """`view.students()`; as of a valid time alone, from `facts` when given (no scan)."""
        if facts is not None and view.question.as_of is not None and view.question.known_at is None:
            return facts.students_as_of(view.moment.valid)
        return view.students()

    def course_distribution(self, view: CourseView) -> list[dict[str, Any]]:
        """`distribution(view)`, from one scan of the course (the same documents)."""
        return rating_distribution_json(view, course_grid(view).items())

    def course_grid(self, view: CourseView) -> dict[str, list[RollupRecord]]:
        """Every student's rollups of the course's outcomes, from one scan of the course."""
        return course_grid(view)

    def students_rollups(
        self, view: CourseView, users: Sequence[str], outcomes: Sequence[str] | None = None
    ) -> dict[str, list[RollupRecord]]:
        """A page of students: their rollups of the course's outcomes, by student."""
        return students_rollups(view, users, outcomes)

    def outcome_column(self, view: CourseView, outcome_id: str) -> dict[str, RollupRecord]:
        """Every student's rollup of one outcome of the course (to sort by it)."""
        return outcome_column(view, outcome_id)

    def aggregate(
        self,
        view: CourseView,
        how: str,
        users: Sequence[str] | None = None,
        outcomes: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The course's one rollup, mean or median (`mastery rollups --aggregate`)."""
        if how not in ("mean", "median"):
            raise BadQuestion(f"aggregate_stat {how!r}: expected mean or median")
        return aggregate_json(view, "mean" if how == "mean" else "median", users, outcomes)

    def course_results(
        self,
        view: CourseView,
        users: Sequence[str] = (),
        outcomes: Sequence[str] = (),
        *,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """The course's results at the moment: (how many in all, the rows asked for)."""
        return course_results(view, users, outcomes, offset=offset, limit=limit)

    def student_history(self, view: CourseView, user_uuid: str) -> dict[str, list[HistoryPoint]]:
        """A student's rollup of each of the course's outcomes over valid time, as known
        at the view's known time."""
        return student_history(
            self._db,
            view.root_account,
            view.course,
            user_uuid,
            [o.outcome_id for o in view.outcomes],
            view.question.known_at,
        )

    def course_tree(self, view: CourseView) -> ContextTree | None:
        """The course's outcome group tree at the view's moment (None: no group)."""
        key = (view.root_account, "Course", view.course)
        snapshot = HierarchyQueries(self._db).snapshot(key, view.moment)
        if not snapshot.nodes:
            return None
        return ContextTree(*key, snapshot)
