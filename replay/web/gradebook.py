"""What the web view's pages show, computed from the service's answers (no HTML here).

A gradebook page asks for its page of students only: sorted by student it never
rolls up the others; sorted by an outcome it rolls up that outcome's column; a
rating filter needs the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import replay.web.canvas as canvas
from replay import service
from replay.service import CourseFacts, CourseView, MasteryReader, RollupRecord

PAGE_SIZES = (20, 50, 100)
NO_SCORE = "(no score)"
LEGACY_COLOURS = (
    (1.5, "Exceeds Mastery", "127A1B"),
    (1.0, "Meets Mastery", "0B874B"),
    (0.5, "Near Mastery", "FC5E13"),
    (0.0, "Well Below Mastery", "E0061F"),
)
"""Canvas's colours for a rating without its own (legacy gradebook), by score / mastery."""


@dataclass(frozen=True, slots=True)
class Cell:
    score: float | None
    rating: str | None
    color: str | None
    mastery: bool | None
    count: int

    @property
    def text(self) -> str:
        return "" if self.score is None else f"{self.score:g}"


@dataclass(frozen=True, slots=True)
class Column:
    outcome_id: str
    title: str
    group_path: str
    method: str
    mastery_points: float | None
    ratings: list[tuple[str, str | None]]


@dataclass(slots=True)
class Options:
    sort: str = "student"
    direction: str = "asc"
    rating: str | None = None
    per_page: int = 20
    page: int = 1
    stat: str = "mean"
    as_of: str | None = None
    known_at: str | None = None

    def query(self, **changed: Any) -> str:
        """This view's query string, with some parameters changed (None: left out)."""
        values = {
            "as_of": self.as_of,
            "known_at": self.known_at,
            "sort": None if self.sort == "student" else self.sort,
            "dir": None if self.direction == "asc" else self.direction,
            "rating": self.rating,
            "per_page": None if self.per_page == 20 else self.per_page,
            "page": None if self.page == 1 else self.page,
            "stat": None if self.stat == "mean" else self.stat,
        }
        values.update(changed)
        return urlencode([(k, str(v)) for k, v in values.items() if v is not None])

    def moment_query(self) -> str:
        return urlencode(
            [(k, v) for k, v in (("as_of", self.as_of), ("known_at", self.known_at)) if v]
        )


def options(params: canvas.Params) -> Options:
    moment = canvas.moment(params)
    per_page = canvas.number(params, "per_page", 20, least=1, most=100)
    return Options(
        sort=canvas.one(params, "sort") or "student",
        direction=canvas.choice(params, "dir", ("asc", "desc"), "asc") or "asc",
        rating=canvas.one(params, "rating"),
        per_page=per_page if per_page in PAGE_SIZES else 20,
        page=canvas.number(params, "page", 1, least=1, most=None),
        stat=canvas.choice(params, "stat", ("mean", "median"), "mean") or "mean",
        as_of=moment.as_of,
        known_at=moment.known_at,
    )


@dataclass(slots=True)
class Gradebook:
    course: str
    root_account: str
    columns: list[Column]
    rows: list[tuple[str, list[Cell]]]
    students: int
    pages: int
    options: Options
    first_event: str
    last_event: str
    ratings: list[tuple[str, str | None]] = field(default_factory=list)


def cell(record: RollupRecord | None, mastery_points: float | None) -> Cell:
    if record is None or record.rollup.count == 0:
        return Cell(None, None, None, None, 0)
    rollup, rating = record.rollup, record.rollup.rating
    name = None if rating is None else (rating.description or f"{rating.points:g} points")
    color = None if rating is None else rating.color
    if color is None and rollup.score is not None and mastery_points:
        for share, legacy_name, legacy_color in LEGACY_COLOURS:
            if rollup.score >= share * mastery_points:
                name, color = name or legacy_name, legacy_color
                break
    return Cell(rollup.score, name, color, rollup.mastery, rollup.count)


def columns(view: CourseView) -> list[Column]:
    found = []
    for outcome in view.outcomes:
        settings = outcome.settings
        parts = outcome.path.split(" > ")
        found.append(
            Column(
                outcome_id=outcome.outcome_id,
                title=outcome.display_name or outcome.title or parts[-1],
                group_path=" > ".join(parts[:-1]),
                method=service.method_label(settings.calculation_method, settings.calculation_int),
                mastery_points=settings.mastery_points,
                ratings=[(r.description or f"{r.points:g}", r.color) for r in settings.ratings],
            )
        )
    return found


def gradebook(
    reader: MasteryReader, view: CourseView, chosen: Options, facts: CourseFacts
) -> Gradebook:
    cols = columns(view)
    mastery = {c.outcome_id: c.mastery_points for c in cols}
    students = reader.students(view, facts)
    grid: dict[str, list[RollupRecord]] | None = None
    if chosen.rating:
        grid = reader.course_grid(view)
        students = [
            s for s in students if _has_rating(grid.get(s, []), cols, mastery, chosen.rating)
        ]
    descending = chosen.direction == "desc"
    if chosen.sort != "student" and chosen.sort in mastery:
        column = reader.outcome_column(view, chosen.sort)
        scored = [s for s in students if _score(column.get(s)) is not None]
        unscored = [s for s in students if _score(column.get(s)) is None]
        scored.sort(key=lambda s: (_score(column.get(s)), s), reverse=descending)
        students = scored + unscored  # students without a score last, either way
    else:
        chosen.sort = "student"
        students.sort(reverse=descending)
    pages = max(1, -(-len(students) // chosen.per_page))
    chosen.page = min(chosen.page, pages)
    shown = students[(chosen.page - 1) * chosen.per_page : chosen.page * chosen.per_page]
    records = grid if grid is not None else reader.students_rollups(view, shown)
    rows = []
    for user in shown:
        by_outcome = {r.key[2]: r for r in records.get(user, [])}
        rows.append((user, [cell(by_outcome.get(c.outcome_id), c.mastery_points) for c in cols]))
    ratings: dict[str, str | None] = {}
    for c in cols:
        for name, color in c.ratings:
            ratings.setdefault(name, color)
    return Gradebook(
        course=view.course,
        root_account=view.root_account,
        columns=cols,
        rows=rows,
        students=len(students),
        pages=pages,
        options=chosen,
        first_event=facts.first_event,
        last_event=facts.last_event,
        ratings=list(ratings.items()),
    )


def _score(record: RollupRecord | None) -> float | None:
    if record is None or record.rollup.count == 0:
        return None
    return record.rollup.score


def _has_rating(
    records: list[RollupRecord], cols: list[Column], mastery: dict[str, float | None], rating: str
) -> bool:
    by_outcome = {r.key[2]: r for r in records}
    for column in cols:
        shown = cell(by_outcome.get(column.outcome_id), mastery[column.outcome_id])
        if (shown.rating or NO_SCORE) == rating:
            return True
    return False


def epoch(text: str) -> int:
    """Seconds since 1970 of a stored time or an ISO 8601 text (UTC when unzoned)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def short_time(text: str | None) -> str:
    """A stored time for people: `2025-02-01 17:06 UTC`."""
    if not text:
        return "-"
    return text[:10] + " " + text[11:16] + " UTC"
