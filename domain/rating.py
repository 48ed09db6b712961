"""Ratings of a mastery scale or rubric criterion, and how Canvas places a score in them.

Canvas has two rules for "which rating is this score", and they disagree at the edges:

* the server (`Outcomes::ResultAnalytics#rating_percents`, lib/outcomes/result_analytics.rb)
  takes the raw score and the first rating, in stored order, whose points are <= the
  score; a score below every rating has none and is not counted in the distribution;
* the Learning Mastery Gradebook cell (`Grid.View.masteryDetails` in the gradebook's
  `Grid` module, JavaScript) scales the score onto the scale's top
  rating first, falls back to the lowest rating when none matches, and, with no ratings
  at all, uses four fixed bands around the mastery points (`legacyMasteryDetails`).

`rating_for` and `rating_distribution_counts` follow the server; `lmgb_cell_rating` follows
the gradebook cell. Ratings are used in the order given: Canvas never re-sorts them at
lookup time (scale ratings come `points DESC, id ASC` from the association, rubric
criterion ratings are sorted descending when the outcome is saved).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rating:
    """One rating of a mastery scale (`OutcomeProficiencyRating`) or rubric criterion.

    `color` is a hex string without "#", as Canvas stores it; plain rubric criterion
    ratings have none. `mastery` marks the scale's single mastery rating.
    """

    description: str | None
    points: float
    color: str | None = None
    mastery: bool = False


# `OutcomeProficiency.default_ratings` (app/models/outcome_proficiency.rb): the scale a root
# account gets from `find_or_create_default!` when account_level_mastery_scales is on and
# no account or course in the chain has an active one.
DEFAULT_MASTERY_SCALE: tuple[Rating, ...] = (
    Rating("Exceeds Mastery", 4.0, "0374B5"),
    Rating("Mastery", 3.0, "0B874B", mastery=True),
    Rating("Near Mastery", 2.0, "FAB901"),
    Rating("Below Mastery", 1.0, "D97900"),
    Rating("No Evidence", 0.0, "E0061F"),
)

# `LearningOutcome.default_rubric_criterion` (app/models/learning_outcome.rb): what
# `rubric_criterion` returns for an outcome whose data has none (P = 5, M = 3).
DEFAULT_RUBRIC_CRITERION_RATINGS: tuple[Rating, ...] = (
    Rating("Exceeds Expectations", 5.0),
    Rating("Meets Expectations", 3.0),
    Rating("Does Not Meet Expectations", 0.0),
)
DEFAULT_RUBRIC_CRITERION_POINTS_POSSIBLE = 5.0
DEFAULT_RUBRIC_CRITERION_MASTERY_POINTS = 3.0


def c_round(value: float) -> float:
    """C99 `round()`: half away from zero, exact for every double.

    Ruby's `Float#round` is built on it (float.c `round_half_up`), and Python's `round`
    (half to even) is not, so 12.5 must give 13 here as in Ruby.
    """
    if value >= 0.0:
        floor = math.floor(value)
        return float(floor + 1) if value - floor >= 0.5 else float(floor)
    ceil = math.ceil(value)
    if ceil - value >= 0.5:
        return float(ceil - 1)
    return float(ceil) or -0.0  # C's round(-0.4) is -0.0, and Ruby keeps that sign


def round_to_int(value: float) -> int:
    """Ruby `Float#round` with no digits (returns an Integer), e.g. in `to_percents`."""
    return int(c_round(value))


def rating_index(score: float | None, ratings: Sequence[Rating]) -> int | None:
    """Index of the first rating whose points are <= the score, as `rating_percents` does
    (`ratings.find_index { |rating| rating[:points] <= score.score }`)."""
    if score is None:
        return None
    for index, rating in enumerate(ratings):
        if rating.points <= score:
            return index
    return None


def rating_for(score: float | None, ratings: Sequence[Rating]) -> Rating | None:
    """The server's rating of a rollup score: none without a score or below every rating."""
    index = rating_index(score, ratings)
    return None if index is None else ratings[index]


def rating_distribution_counts(
    scores: Sequence[float | None], ratings: Sequence[Rating]
) -> list[int]:
    """Percent of students per rating, as `rating_percents` / `to_percents` compute it.

    Students without a score, and scores below every rating, are left out of the total
    (so the percentages are of rated students, not of all students); each share is
    `(100.0 * count / total).round`, half away from zero, so the row need not add to 100.
    With nobody rated, the counts (all zero) are returned as they are.
    """
    counts = [0] * len(ratings)
    for score in scores:
        index = rating_index(score, ratings)
        if index is not None:
            counts[index] += 1
    total = sum(counts)
    if total == 0:
        return counts
    return [round_to_int(100.0 * count / total) for count in counts]


def lmgb_cell_rating(
    score: float, ratings: Sequence[Rating], points_possible: float, mastery_points: float
) -> Rating:
    """The rating (and colour) the Learning Mastery Gradebook paints a rollup cell with.

    Follows `Grid.View.masteryDetails`: with scale ratings, the score is first scaled to
    the top rating, `(score / P) * ratings[0].points` with P = the outcome's points
    possible (its mastery points when P is 0, the score itself when both are 0), and a
    score below every rating takes the LAST rating rather than none. `points_possible`
    and `mastery_points` are what the rollups API sends for the outcome: the mastery
    scale's under account_level_mastery_scales, else the rubric criterion's. Which
    ratings the page has is decided elsewhere (GradebooksController#outcome_proficiency:
    the course's resolved scale with account_level_mastery_scales, else the course
    account's, and none without non_scoring_rubrics); with none, `legacy_mastery_band`.
    """
    if not ratings:
        return legacy_mastery_band(score, mastery_points)
    total = points_possible if points_possible != 0 else mastery_points
    scaled = score if total == 0 else (score / total) * ratings[0].points
    for rating in ratings:
        if scaled >= rating.points:
            return rating
    return ratings[-1]


def legacy_mastery_band(score: float, mastery_points: float) -> Rating:
    """`Grid.View.legacyMasteryDetails`: four fixed bands at 1.5 M, M and M / 2.

    The band's `points` is its lower threshold (0.0 for the last, open-ended band) and
    the colours are the gradebook's standard-contrast ones.
    """
    near = mastery_points / 2
    exceeds = mastery_points + mastery_points / 2
    if score >= exceeds:
        return Rating("Exceeds Mastery", exceeds, "127A1B")
    if score >= mastery_points:
        return Rating("Meets Mastery", mastery_points, "0B874B", mastery=True)
    if score >= near:
        return Rating("Near Mastery", near, "FC5E13")
    return Rating("Well Below Mastery", 0.0, "E0061F")
