"""The "Outcome Results" report of a course, one row per result, streamed.

Matched against Canvas's account report (instructure/canvas-lms,
gems/plugins/account_reports/lib/account_reports/improved_outcome_reports/
outcome_results_report.rb and base_outcome_report.rb): the columns keep Canvas's
header names and order, keeping those live events can fill; the rest (names, SIS
ids, sections, submission dates, assessment questions, account names, enrollment
state) are left out rather than filled with guesses. Canvas's rules, as
`BaseOutcomeReport#add_outcomes_data` applies them:

* "learning outcome mastery score": the mastery points of the course's mastery
  scale under account_level_mastery_scales, else of the outcome's rubric criterion
  (Canvas's default criterion when it has none);
* the score placed in a rating: `percent * points possible` (mastery points when
  points possible is 0) when the result has a percent, else
  `score / result possible * points possible`; the rating is the first, by points
  descending, at or below it ("learning outcome rating", "... rating points");
* "learning outcome points possible": the result's own `possible`, replaced by the
  scale's points possible under account_level_mastery_scales unless the assessment
  is a quiz;
* "learning outcome mastered": the result's own mastery flag, 1 or 0.

Rows follow Canvas's default order (student, outcome, then result id here). Extra
columns Canvas does not have come last: "outcome percent", "assessed at",
"result id", "root account id". Deleted results are left out, as Canvas does, and
so are results that no student can be named for (payloads before late 2019).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlite_utils

from domain.rating import Rating
from domain.rollup_settings import RollupSettings
from projections.exports import CourseView
from projections.settings import SettingsResolver

RESULT_COLUMNS = [
    "student id",
    "assessment id",
    "assessment type",
    "learning outcome name",
    "learning outcome id",
    "attempt",
    "outcome score",
    "course id",
    "learning outcome friendly name",
    "learning outcome points possible",
    "learning outcome mastery score",
    "learning outcome mastered",
    "learning outcome rating",
    "learning outcome rating points",
    "learning outcome group title",
    "learning outcome group id",
    "outcome percent",
    "assessed at",
    "result id",
    "root account id",
]

QUIZ_ASSET_TYPES = frozenset({"Quiz", "Quizzes::Quiz"})
QUIZ_ARTIFACT_TYPES = frozenset({"QuizSubmission", "Quizzes::QuizSubmission"})

_ORDER = (
    "ORDER BY r.user_uuid, length(r.outcome_id), r.outcome_id, length(r.result_id), r.result_id"
)


def _source(view: CourseView) -> tuple[str, list[Any]]:
    """The course's results in their version at the moment, with their mastery flag."""
    where = (
        "root_account = ? AND context_type = 'Course' AND context_id = ? "
        "AND user_uuid IS NOT NULL AND outcome_id IS NOT NULL"
    )
    params: list[Any] = [view.root_account, view.course]
    table = (
        "(SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY root_account, result_id "
        f"ORDER BY valid_order DESC) AS version_rank FROM result_versions WHERE {where} "
        "AND event_time <= ? AND recorded_at <= ?) WHERE version_rank = 1)"
    )
    params += [view.moment.valid, view.moment.known]
    return (f"FROM {table} r WHERE r.workflow_state IS NOT 'deleted'", params)


def count_results(db: sqlite_utils.Database, view: CourseView) -> int:
    source, params = _source(view)
    row = db.execute(f"SELECT count(*) {source}", params).fetchone()
    return int(row[0])


def result_rows(db: sqlite_utils.Database, view: CourseView) -> Iterator[list[Any]]:
    """Rows in `RESULT_COLUMNS` order, read from one cursor (constant memory)."""
    source, params = _source(view)
    groups = {o.outcome_id: (o.group_title, o.group_id) for o in view.outcomes}
    account_level = view.resolver.uses_account_settings(view.root_account)
    cursor = db.execute(f"SELECT r.*, r.mastery AS mastered {source} {_ORDER}", params)
    columns = [d[0] for d in cursor.description]
    for values in cursor:
        row = dict(zip(columns, values, strict=True))
        yield _report_row(view, row, groups, account_level)


def _report_row(
    view: CourseView,
    row: dict[str, Any],
    groups: dict[str, tuple[str | None, str | None]],
    account_level: bool,
) -> list[Any]:
    outcome_id = row["outcome_id"]
    resolver: SettingsResolver = view.resolver
    outcome = resolver.outcome(view.root_account, outcome_id)
    settings = resolver.settings_for(view.root_account, outcome_id, "Course", view.course)
    quiz = (
        row["associated_asset_type"] in QUIZ_ASSET_TYPES
        or row["artifact_type"] in QUIZ_ARTIFACT_TYPES
    )
    rating = report_rating(row["score"], row["percent"], row["possible"], settings)
    possible = row["possible"]
    if account_level and not quiz:
        possible = settings.points_possible
    group_title, group_id = groups.get(outcome_id, (None, None))
    mastered = row["mastered"]
    return [
        row["user_uuid"],
        row["associated_asset_id"],
        "quiz" if quiz else "assignment",
        outcome["title"] if outcome else None,
        outcome_id,
        row["attempt"],
        row["score"],
        view.course,
        outcome["display_name"] if outcome else None,
        possible,
        settings.mastery_points,
        None if mastered is None else int(mastered),
        rating.description if rating else None,
        rating.points if rating else None,
        group_title,
        group_id,
        row["percent"],
        _seconds(row["assessed_at"]),
        row["result_id"],
        view.root_account,
    ]


def report_rating(
    score: float | None, percent: float | None, possible: float | None, settings: RollupSettings
) -> Rating | None:
    """`BaseOutcomeReport#set_score` then `#set_rating`."""
    points_possible = settings.points_possible or 0.0
    if percent is not None:
        scale = points_possible if points_possible != 0 else settings.mastery_points or 0.0
        value: float | None = scale * percent
    elif score is None or not possible:
        value = None
    else:
        value = score / possible * points_possible
    if value is None:
        return None
    for rating in sorted(settings.ratings, key=lambda r: r.points, reverse=True):
        if rating.points <= value:
            return rating
    return None


def _seconds(time_text: str | None) -> str | None:
    """Stored UTC text (`...T17:06:43.000000Z`) as Canvas writes times: whole seconds."""
    return None if time_text is None else time_text[:19] + "Z"
