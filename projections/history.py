"""A student's mastery over time: each outcome's rollup at every moment it changed,
with the results that changed it (the web view's student chart; Canvas has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

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
