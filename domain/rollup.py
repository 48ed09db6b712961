"""Outcome rollups: one student's results on one outcome, turned into Canvas's number.

The rules are Canvas's, read from `RollupScore` (app/models/rollup_score.rb),
`RollupScoreAggregatorHelper` (app/helpers/rollup_score_aggregator_helper.rb) and
`Outcomes::ResultAnalytics` (lib/outcomes/result_analytics.rb). Our numbers must equal
Canvas's to the last rounded digit, so the float arithmetic is Ruby's, step for step:
weights as `0.01 * int`, sums with Ruby's `Array#sum` (Kahan-Babuska, not `math.fsum`),
means as `sum / count`, and `Float#round(2)` as float.c implements it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Final

from domain.ids import id_sort_key
from domain.methods import score_by_formula
from domain.rating import Rating, rating_for
from domain.rollup_settings import (
    DECAYING_METHODS,
    RollupSettings,
    effective_method,
    formula_for,
)

QUIZ_SUBMISSION = "Quizzes::QuizSubmission"

# `scaled_score_from_result`: the methods for which a classic-quiz result takes the
# possible-weighted mean of its quiz. Keyed on the stored method name, as Canvas does.
_QUIZ_AGGREGATED_METHODS = DECAYING_METHODS | {"latest", "average"}
# `score_sets`: the methods that see the results in time order.
_TIME_ORDERED_METHODS = DECAYING_METHODS | {"latest"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class ResultValue:
    """One learning outcome result, as much of it as a rollup reads.

    `submitted_at` is not in the live event; it is here so that a caller who knows it
    orders results as Canvas does (`submitted_at || assessed_at`).
    """

    result_id: str
    score: float | None
    percent: float | None
    possible: float | None
    assessed_at: datetime | None
    artifact_type: str | None = None
    associated_asset_type: str | None = None
    associated_asset_id: str | None = None
    deleted: bool = False
    submitted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rollup:
    """A student's rollup of one outcome (`RollupScore`).

    `count == 0` means Canvas shows no rollup at all (no result with a score).
    `latest_assessed_at` is the rollup's `submitted_at` in Canvas: `submitted_at ||
    assessed_at` of the latest result.
    """

    score: float | None
    count: int
    mastery: bool | None
    rating: Rating | None
    calculation_method: str
    calculation_int: int | None
    latest_assessed_at: datetime | None


_NEW_ROLLUP = object.__new__
_SET_SCORE = Rollup.__dict__["score"].__set__  # each slot's setter, by name
_SET_COUNT = Rollup.__dict__["count"].__set__
_SET_MASTERY = Rollup.__dict__["mastery"].__set__
_SET_RATING = Rollup.__dict__["rating"].__set__
_SET_METHOD = Rollup.__dict__["calculation_method"].__set__
_SET_INT = Rollup.__dict__["calculation_int"].__set__
_SET_LATEST = Rollup.__dict__["latest_assessed_at"].__set__


def _rollup(
    score: float | None,
    count: int,
    mastery: bool | None,
    rating: Rating | None,
    calculation_method: str,
    calculation_int: int | None,
    latest_assessed_at: datetime | None,
) -> Rollup:
    """`Rollup(...)`, each slot set by its own setter rather than `object.__setattr__`.

    A frozen dataclass's `__init__` sets each field through `object.__setattr__`, the
    slowest way there is, and a course grid builds a rollup per key: this makes the
    same object (every slot set, nothing else) without it.
    """
    rollup = _NEW_ROLLUP(Rollup)
    _SET_SCORE(rollup, score)
    _SET_COUNT(rollup, count)
    _SET_MASTERY(rollup, mastery)
    _SET_RATING(rollup, rating)
    _SET_METHOD(rollup, calculation_method)
    _SET_INT(rollup, calculation_int)
    _SET_LATEST(rollup, latest_assessed_at)
    return rollup


ScoredResult = tuple[
    str, float, float | None, float | None, bool, str | None, str | None, datetime | None, int
]
"""A result that counts (not deleted, with a score), as the rules read it: a plain tuple
whose fields are named by the constants below, `result[SCORE]`.

Not a NamedTuple nor a dataclass: a course grid makes one for each of hundreds of
thousands of results and reads each several times, and those cost several times what
a plain tuple does to make and to read (the README's Performance section has the
figures). Index constants cost nothing."""

RESULT_ID: Final = 0
SCORE: Final = 1
PERCENT: Final = 2
POSSIBLE: Final = 3
IS_CLASSIC_QUIZ: Final = 4
"""Its artifact is a `Quizzes::QuizSubmission`: it may take its quiz's mean."""
ASSET_TYPE: Final = 5
"""`associated_asset_type`: with `ASSET_ID`, the quiz of a classic-quiz result."""
ASSET_ID: Final = 6
SUBMITTED_AT: Final = 7
"""`submitted_at || assessed_at`: what Canvas orders results by."""
RESULT_TIME: Final = 8
"""Canvas's `result_time`: `SUBMITTED_AT` in whole seconds, as Canvas compares times."""


@dataclass(frozen=True, slots=True)
class RollupRules:
    """A `RollupSettings` as the rules apply it, worked out once for all its rollups.

    `known_scores` remembers the score, mastery and rating of each list of values met
    (rubric points repeat: across a course most students' values are someone else's).
    """

    method: str
    calculation_int: int | None
    formula: str | None
    scale_points: float | None
    mastery_points: float | None
    ratings: tuple[Rating, ...]
    quiz_aggregated: bool
    time_ordered: bool
    known_scores: dict[
        tuple[float | None, ...], tuple[float | None, bool | None, Rating | None]
    ] = field(default_factory=dict, compare=False, repr=False)


def rules_for(settings: RollupSettings) -> RollupRules:
    method, calculation_int = effective_method(
        settings.calculation_method, settings.calculation_int
    )
    return RollupRules(
        method=method,
        calculation_int=calculation_int,
        formula=formula_for(method, settings.new_decaying_average),
        scale_points=_scale_points(settings),
        mastery_points=settings.mastery_points,
        ratings=settings.ratings,
        quiz_aggregated=method in _QUIZ_AGGREGATED_METHODS,
        time_ordered=method in _TIME_ORDERED_METHODS,
    )


def scored_result(result: ResultValue) -> ScoredResult | None:
    """The result as the rules read it; None when it does not count (deleted, no score)."""
    if result.deleted or result.score is None:
        return None
    moment = result.submitted_at or result.assessed_at
    return (
        result.result_id,
        result.score,
        result.percent,
        result.possible,
        result.artifact_type == QUIZ_SUBMISSION,
        result.associated_asset_type,
        result.associated_asset_id,
        moment,
        moment_seconds(moment),
    )


def result_time(result: ResultValue) -> int:
    """`RollupScoreAggregatorHelper#result_time`: `(submitted_at || assessed_at).to_i`.

    Whole seconds, so results within one second tie; a missing time is `nil.to_i == 0`
    and sorts oldest. A naive datetime is taken as UTC.
    """
    return moment_seconds(result.submitted_at or result.assessed_at)


def moment_seconds(moment: datetime | None) -> int:
    """Ruby's `Time#to_i` of a moment (None: 0): whole seconds since the epoch, floored.

    The same number as `calendar.timegm(moment.utctimetuple())`, in a fraction of its time.
    """
    if moment is None:
        return 0
    if moment.tzinfo is not UTC and (moment.tzinfo is None or moment.utcoffset() is None):
        return (moment.replace(tzinfo=None) - _NAIVE_EPOCH) // _SECOND
    return (moment - _EPOCH) // _SECOND


def result_values(results: Iterable[tuple[Any, ...]], scale: float | None) -> list[float | None]:
    """`RollupScoreAggregatorHelper#result_score`: the value each result feeds a method.

    `return result.score unless result.try(:percent)`: in Ruby 0.0 is true, so only a
    null percent falls back to the raw score. Otherwise `percent * points_possible`, or
    `percent * mastery_points` when points possible is not > 0 (`scale`, see
    `_scale_points`). A missing points possible counts as 0 (Canvas would raise on
    `nil > 0`; a rubric criterion always has one), and with no mastery points either
    there is no value. `results` are laid out as `ScoredResult`s (only `SCORE` and
    `PERCENT` are read), a list of them at once: a course grid asks for every result's.
    """
    if scale is None:
        return [r[SCORE] if r[PERCENT] is None else None for r in results]
    return [r[SCORE] if r[PERCENT] is None else r[PERCENT] * scale for r in results]


def result_value(result: ResultValue, settings: RollupSettings) -> float | None:
    """The value one result feeds a method (`result_values`)."""
    (value,) = result_values(
        [(result.result_id, result.score, result.percent)], _scale_points(settings)
    )
    return value


def _scale_points(settings: RollupSettings) -> float | None:
    points = settings.points_possible
    if points is not None and points > 0:
        return points
    return settings.mastery_points


def _quiz_value(
    result: ScoredResult, kept: Sequence[ScoredResult], scale: float | None
) -> float | None:
    """A classic-quiz result's value: the possible-weighted mean percent of its quiz.

    `get_aggregates` / `alignment_aggregate_score`: over this student's results for the
    outcome (in database order, plain `+=`), those of the same quiz with a possible,
    `sum(possible * percent) / sum(possible)` times P (M when P is not > 0). Canvas
    matches on `association_type` / `association_id`, which live events do not carry; for
    classic-quiz results `Quizzes::QuizOutcomeResultBuilder` sets the associated asset to
    the same quiz, so that pair stands in. A matched result without a percent makes Canvas
    raise, and a zero total gives no value.
    """
    total = 0.0
    weighted = 0.0
    quiz = (result[ASSET_TYPE], result[ASSET_ID])
    for other in kept:
        possible = other[POSSIBLE]
        if (other[ASSET_TYPE], other[ASSET_ID]) != quiz or possible is None:
            continue
        total += possible
        percent = other[PERCENT]
        if percent is None:
            return None
        weighted += possible * percent
    if total == 0 or scale is None:
        return None
    return (weighted / total) * scale


def compute_rollup(results: Sequence[ResultValue], settings: RollupSettings) -> Rollup:
    """One student's rollup of one outcome in one course (`RollupScore`).

    Deleted results and results with a null score are dropped first
    (`LearningOutcomeResult.active`, `ResultAnalytics#rollup_user_results`); `count` is
    how many remain, each classic-quiz result counting once. Input order does not matter:
    results are put in Canvas's database order, then in time order for the methods that
    need it. Where Canvas itself would raise (see `result_value`, `_quiz_value`), the
    score is None.
    """
    kept = [scored for scored in map(scored_result, results) if scored is not None]
    return rollup_of(kept, rules_for(settings))


def rollup_of(kept: Sequence[ScoredResult], rules: RollupRules) -> Rollup:
    """`compute_rollup` of the results that count, under settings worked out once.

    A course grid calls it for every key: where the rules allow, its loops are C's.
    """
    method, calculation_int = rules.method, rules.calculation_int
    count = len(kept)
    if count < 2:
        if not kept:
            return _rollup(None, 0, None, None, method, calculation_int, None)
        ordered = kept
        latest = kept[0]
        quizzes = alone = latest[IS_CLASSIC_QUIZ]
    else:
        quizzes = any(map(_IS_QUIZ, kept))
        alone = (
            rules.time_ordered
            and len(set(map(_SECONDS, kept))) == count
            and (not quizzes or len(set(map(_ASSET, kept))) == count)
        )
        if alone:
            # Their times differ, and a classic quiz's result is its quiz's only one
            # here (`_quiz_value` sums it alone): nothing for the database order to decide.
            ordered = sorted(kept, key=_SECONDS)
            latest = ordered[-1]
        else:
            kept = sorted(kept, key=_db_order)
            ordered = sorted(kept, key=_SECONDS) if rules.time_ordered else kept
            latest = max(kept, key=_SECONDS)  # max_by: the first of equal times
    scale = rules.scale_points
    values = result_values(ordered, scale)
    if quizzes and rules.quiz_aggregated:  # a classic quiz's result takes its quiz's mean
        for i, result in enumerate(ordered):
            if result[IS_CLASSIC_QUIZ]:  # when alone, the only result of its quiz here
                values[i] = _quiz_value(result, (result,) if alone else kept, scale)
    # n_mastery also counts the results; a zero could be -0.0, which a dict takes for 0.0
    memo = (*values, count) if 0.0 not in values else None
    known = rules.known_scores.get(memo) if memo is not None else None
    if known is None:
        mastery_points = rules.mastery_points
        score = score_by_formula(rules.formula, calculation_int, count, values, mastery_points)
        known = (
            score,
            None if score is None or mastery_points is None else score >= mastery_points,
            rating_for(score, rules.ratings),
        )
        if memo is not None:
            rules.known_scores[memo] = known
    score, mastery, rating = known
    return _rollup(score, count, mastery, rating, method, calculation_int, latest[SUBMITTED_AT])


def _db_order(result: ScoredResult) -> tuple[int, int, str]:
    """Canvas's database order within one student and outcome: result id ascending.

    `ResultAnalytics#order_results_for_rollup` ends with `learning_outcome_results.id
    ASC`, and Ruby's `sort_by` (glibc `qsort_r`, a merge sort) keeps that order for
    equal times. Numeric ids compare as integers ("9" before "10").
    """
    return id_sort_key(result[RESULT_ID])


_SECONDS = itemgetter(RESULT_TIME)
_IS_QUIZ = itemgetter(IS_CLASSIC_QUIZ)
_ASSET = itemgetter(ASSET_TYPE, ASSET_ID)
