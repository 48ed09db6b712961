"""Questions about mastery, now or at any past moment, answered from the read model.

Current answers are rows of the `rollups` table. Past answers ("as of T", "as known
at K") are computed from the indexed version tables by the very code that fills
`rollups`, restricted to what was in force (and recorded) at that moment; the log
is never replayed for a question.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from operator import attrgetter
from typing import Any

import sqlite_utils

from domain.ids import InvalidId, normalise_id
from projections.grid_scan import scanned_results
from projections.rollups import (
    ROLLUP_KEY_SQL,
    RollupRecord,
    latest_results,
    one_snapshot,
    rollup_records,
    score_rows,
)
from projections.rows import time_text
from projections.settings import END_OF_TIME, Moment, SettingsResolver

_BY_KEY = attrgetter("key")


class QueryError(ValueError):
    """A question that cannot be asked as put (bad time, bad filter)."""


@dataclass(frozen=True)
class MasteryQuestion:
    users: Sequence[str] = ()
    outcomes: Sequence[str] = ()
    course: str | None = None
    as_of: datetime | None = None
    known_at: datetime | None = None
    all_courses: bool = False
    root_account: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Ids asked for in the form they are stored in; QueryError for a non-id."""
        object.__setattr__(
            self, "outcomes", tuple(question_id(o, "--outcome") for o in self.outcomes)
        )
        if self.course is not None:
            object.__setattr__(self, "course", question_id(self.course, "--course"))

    @property
    def moment(self) -> Moment:
        return Moment(
            valid=time_text(self.as_of) or END_OF_TIME,
            known=time_text(self.known_at) or END_OF_TIME,
        )


def question_id(value: str, option: str) -> str:
    """A Canvas id given on the command line, as stored; QueryError if it is not one."""
    try:
        return normalise_id(value)
    except InvalidId as error:
        raise QueryError(f"{option} {value!r}: {error}") from None


def parse_moment(text: str, *, option: str) -> datetime:
    """ISO 8601 instant, or a date meaning the end of that day (UTC)."""
    try:
        if len(text) == 10:
            day = datetime.fromisoformat(text).date()
            return datetime.combine(day, time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"{option} {text!r}: expected an ISO 8601 date or time, e.g. 2025-03-01 "
            "or 2025-03-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MasteryQueries:
    """The Python API behind `mastery query` (also what the benchmark times)."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def rollups(self, question: MasteryQuestion) -> list[RollupRecord]:
        return list(self.stream_rollups(question))

    def stream_rollups(self, question: MasteryQuestion) -> Iterator[RollupRecord]:
        """The rollups in key order; the current ones are read as they are written
        (memory flat in their number), those as of a moment are computed first."""
        if question.moment.is_now and not question.all_courses:
            return self._current(question)
        return iter(self._as_of(question))

    def _as_of(self, question: MasteryQuestion) -> list[RollupRecord]:
        where, params = _filters(question)
        moment = question.moment
        across_courses = question.all_courses
        with one_snapshot(self.db):
            if question.users:  # a few students: one window over their results' versions
                scored = score_rows(latest_results(self.db, where, params, moment))
                resolver = SettingsResolver(self.db, moment)
                return rollup_records(scored, resolver, across_courses=across_courses)
            # a course grid, an outcome, everything: one scan, the same answer, rolled up
            # an outcome at a time (`scanned_results`), then put in key order
            course = question.course
            resolver = SettingsResolver(self.db, moment)
            records = []
            for part in scanned_results(self.db, where, params, moment, course):
                records += rollup_records(part, resolver, across_courses=across_courses)
            records.sort(key=_BY_KEY)
        return records

    def rollup(
        self,
        user_uuid: str,
        outcome_id: str,
        course_id: str,
        as_of: datetime | None = None,
        known_at: datetime | None = None,
    ) -> RollupRecord | None:
        """One student's rollup of one outcome in one course (None: no results)."""
        found = self.rollups(
            MasteryQuestion(
                users=[user_uuid],
                outcomes=[outcome_id],
                course=course_id,
                as_of=as_of,
                known_at=known_at,
            )
        )
        return found[0] if found else None

    def outcome_titles(self, outcome_ids: Sequence[str]) -> dict[str, str]:
        if not outcome_ids:
            return {}
        marks = ",".join("?" * len(outcome_ids))
        rows = self.db.execute(
            "SELECT outcome_id, COALESCE(display_name, title) FROM outcome_versions "
            f"WHERE outcome_id IN ({marks}) ORDER BY valid_order",
            list(outcome_ids),
        ).fetchall()
        return {outcome_id: title for outcome_id, title in rows if title}

    def _current(self, question: MasteryQuestion) -> Iterator[RollupRecord]:
        from domain.rating import Rating
        from domain.rollup import Rollup

        where, params = _filters(question)
        for row in self.db.query(
            f"SELECT * FROM rollups WHERE {where} ORDER BY {ROLLUP_KEY_SQL}",
            params,
        ):
            rating = None
            if row["rating_points"] is not None:
                rating = Rating(
                    row["rating_description"], row["rating_points"], row["rating_color"]
                )
            latest = row["latest_assessed_at"]
            rollup = Rollup(
                score=row["score"],
                count=row["count"],
                mastery=None if row["mastery"] is None else bool(row["mastery"]),
                rating=rating,
                calculation_method=row["calculation_method"],
                calculation_int=row["calculation_int"],
                latest_assessed_at=datetime.fromisoformat(latest) if latest else None,
            )
            key = (
                row["root_account"],
                row["user_uuid"],
                row["outcome_id"],
                row["context_type"],
                row["context_id"],
            )
            yield RollupRecord(key, rollup)


def _filters(question: MasteryQuestion) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if question.users:
        clauses.append(f"user_uuid IN ({','.join('?' * len(question.users))})")
        params.extend(question.users)
    if question.outcomes:
        clauses.append(f"outcome_id IN ({','.join('?' * len(question.outcomes))})")
        params.extend(question.outcomes)
    if question.course is not None:
        clauses.append("context_id = ? AND context_type = 'Course'")
        params.append(question.course)
    if question.root_account is not None:
        clauses.append("root_account = ?")
        params.append(question.root_account)
    return " AND ".join(clauses), params
