"""A course's summary rows: the aggregate rollup and the rating distribution.

What Canvas's Learning Mastery Gradebook shows above the students: the course row
(`outcome_rollups?aggregate=course`) and the header's percent of students per rating.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from domain.rating import Rating, rating_distribution_counts
from domain.rollup import Rollup
from domain.ruby_math import round_half_up, ruby_sum


def course_aggregate(
    scores: Sequence[float | None], how: Literal["mean", "median"]
) -> float | None:
    """The course row of the gradebook (`aggregate_score` / `median_aggregate_score`).

    Over each student's rollup score (already rounded), skipping students whose rollup
    has no score: the mean `sum / n` rounded to 2 places, or the median
    `(sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0`, not rounded. No score: None. (Canvas's
    count for the row is the number of student rollups, scored or not.)
    """
    present = [s for s in scores if s is not None]
    if not present:
        return None
    if how == "mean":
        return round_half_up(ruby_sum(present) / len(present))
    ordered = sorted(present)
    n = len(ordered)
    return (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0


def rating_distribution(
    rollups: Sequence[Rollup], ratings: Sequence[Rating]
) -> list[tuple[Rating, int]]:
    """Percent of students per rating for the gradebook header (`rating_percents`)."""
    percents = rating_distribution_counts([r.score for r in rollups if r.count > 0], ratings)
    return list(zip(ratings, percents, strict=True))
