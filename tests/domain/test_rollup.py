"""Tests for domain/rollup.py and domain/rating.py.

Worked examples come from Canvas's own specs where they exist:
spec/lib/outcomes/result_analytics_spec.rb ("result_analytics_spec") and the stored-rollup
service spec's "calculation scenarios" ("rollup service spec"), and for the gradebook
cell from the LMGB Grid jest test of `Grid.View.masteryDetails`. Where a spec builds
`LearningOutcomeResult.new` without ids, its input order is its database order, so the
helpers here number results in input order.
"""

from __future__ import annotations

import calendar
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.course_summary import course_aggregate, rating_distribution
from domain.rating import (
    DEFAULT_MASTERY_SCALE,
    DEFAULT_RUBRIC_CRITERION_RATINGS,
    Rating,
    lmgb_cell_rating,
    rating_distribution_counts,
    rating_for,
    round_to_int,
)
from domain.rollup import (
    QUIZ_SUBMISSION,
    ResultValue,
    Rollup,
    compute_rollup,
    moment_seconds,
    result_time,
    result_value,
    rollup_of,
    rules_for,
    scored_result,
)
from domain.rollup_settings import (
    RollupSettings,
    effective_method,
    formula_for,
    settings_from_scale,
)
from domain.ruby_math import round_half_up, ruby_sum

T = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def settings(
    method: str | None = "highest",
    calculation_int: int | None = None,
    points_possible: float | None = 5.0,
    mastery_points: float | None = 3.0,
    ratings: tuple[Rating, ...] = DEFAULT_RUBRIC_CRITERION_RATINGS,
    new_decaying_average: bool = True,
) -> RollupSettings:
    """Defaults are `LearningOutcome.default_rubric_criterion` (P = 5, M = 3)."""
    return RollupSettings(
        method, calculation_int, points_possible, mastery_points, ratings, new_decaying_average
    )


def scored(*scores: float | None, at: list[datetime | None] | None = None) -> list[ResultValue]:
    """Plain (rubric) results with raw scores, ids 1.. in input order."""
    times = at if at is not None else [None] * len(scores)
    return [
        ResultValue(str(i + 1), s, None, None, t)
        for i, (s, t) in enumerate(zip(scores, times, strict=True))
    ]


def quiz(
    rid: int,
    percent: float | None,
    possible: float | None,
    quiz_id: int,
    at: datetime | None = T,
    score: float = 1.0,
) -> ResultValue:
    """A classic-quiz result as the spec's `create_quiz_outcome_results` makes it."""
    return ResultValue(
        str(rid), score, percent, possible, at, QUIZ_SUBMISSION, "Quizzes::Quiz", str(quiz_id)
    )


def score_of(results: list[ResultValue], s: RollupSettings) -> float | None:
    return compute_rollup(results, s).score


# --- Ruby arithmetic -------------------------------------------------------------------


def test_round_half_up_rounds_the_decimal_half_up_like_ruby_float_round() -> None:
    assert round_half_up(3.175) == 3.18
    assert round(3.175, 2) == 3.17  # what Python alone would say
    assert round_half_up(2.675) == 2.68
    assert round_half_up(-2.675) == -2.68
    assert round_half_up(-3.175) == -3.18


def test_round_half_up_rounds_4_125_to_4_13_as_the_rollup_service_spec_expects() -> None:
    """rollup service spec, legacy decaying average: 3.25 + 0.875 = 4.125 -> 4.13."""
    assert round_half_up(4.125) == 4.13


def test_round_half_up_follows_ruby_not_the_decimal_string_just_below_a_half() -> None:
    """Ruby 3.1: `11.754999999999999.round(2) # => 11.76` (x * 100 rounds to 1175.5)."""
    assert round_half_up(11.754999999999999) == 11.76


def test_round_half_up_edge_cases_follow_float_c() -> None:
    assert round_half_up(0.0) == 0.0
    assert round_half_up(2.0) == 2.0
    assert round_half_up(-0.0001) == 0.0 and math.copysign(1, round_half_up(-0.0001)) == 1
    assert round_half_up(1.23456, 4) == 1.2346
    assert round_half_up(2.5, 0) == 3.0 and round_half_up(-2.5, 0) == -3.0
    assert round_half_up(1e17) == 1e17
    assert math.isnan(round_half_up(math.nan))
    with pytest.raises(ValueError):
        round_half_up(1.0, -1)


def test_ruby_sum_is_kahan_babuska_summation_not_fsum_nor_plain_sum() -> None:
    """Ruby 3.1: `[0.1, 0.2, 0.3].sum # => 0.6`, `[1.0, 1e-16, 1e16].sum # => 1.0e+16`."""
    assert ruby_sum([0.1, 0.2, 0.3]) == 0.6
    assert sum([0.1, 0.2, 0.3]) != 0.6
    assert ruby_sum([1.0, 1e-16, 1e16]) == 1e16
    assert math.fsum([1.0, 1e-16, 1e16]) != 1e16
    assert ruby_sum([]) == 0.0


def test_round_to_int_is_half_away_from_zero() -> None:
    assert round_to_int(12.5) == 13
    assert round_to_int(-12.5) == -13
    assert round_to_int(37.5) == 38


# --- calculation method and int ----------------------------------------------------------


def test_missing_method_means_highest() -> None:
    """result_analytics_spec "returns maximum score when no method is set": [3, 1] -> 3."""
    rollup = compute_rollup(scored(3.0, 1.0), settings(method=None))
    assert (rollup.score, rollup.count, rollup.calculation_method) == (3.0, 2, "highest")


@pytest.mark.parametrize(
    "method", ["decaying_average", "weighted_average", "standard_decaying_average"]
)
def test_decaying_variants_default_their_int_to_65(method: str) -> None:
    assert effective_method(method, None) == (method, 65)
    assert effective_method(method, 80) == (method, 80)


def test_n_mastery_defaults_its_int_to_5() -> None:
    assert effective_method("n_mastery", None) == ("n_mastery", 5)


def test_methods_without_an_int_drop_it_and_ints_are_not_clamped() -> None:
    assert effective_method("highest", 3) == ("highest", None)
    assert effective_method("average", None) == ("average", None)
    assert effective_method("n_mastery", 12) == ("n_mastery", 12)
    # int 100 is outside 1..99 but is used as stored: all weight on the latest value
    s = settings(method="decaying_average", calculation_int=100)
    assert score_of(scored(1.0, 5.0, at=[T, T + DAY]), s) == 5.0


def test_the_decaying_average_flag_decides_what_each_stored_name_runs() -> None:
    assert formula_for("standard_decaying_average", True) == "decaying_average"
    assert formula_for("standard_decaying_average", False) == "weighted_average"
    for flag in (True, False):
        assert formula_for("decaying_average", flag) == "weighted_average"
        assert formula_for("weighted_average", flag) == "weighted_average"
        assert formula_for("n_mastery", flag) == "n_mastery"
    assert formula_for("bogus", True) is None


def test_an_unknown_method_gives_a_rollup_without_score() -> None:
    rollup = compute_rollup(scored(3.0), settings(method="bogus"))
    assert (rollup.score, rollup.count, rollup.mastery, rollup.rating) == (None, 1, None, None)


# --- the value a result feeds a method -----------------------------------------------------


def test_a_result_with_percent_feeds_percent_times_points_possible() -> None:
    r = ResultValue("1", 7.0, 0.4, 10.0, T)
    assert result_value(r, settings(points_possible=5.0)) == 2.0


def test_percent_zero_counts_as_present_not_as_missing() -> None:
    r = ResultValue("1", 7.0, 0.0, 10.0, T)
    assert result_value(r, settings()) == 0.0
    assert score_of([r], settings()) == 0.0


def test_a_null_percent_feeds_the_raw_score() -> None:
    r = ResultValue("1", 7.0, None, 10.0, T)
    assert result_value(r, settings()) == 7.0


def test_points_possible_zero_scales_percent_by_mastery_points() -> None:
    """result_analytics_spec "falls back to using mastery score if points possible is 0
    or nil": latest, P 0, M 3, a quiz result at 70% -> 2.1."""
    s = settings(method="latest", points_possible=0.0, mastery_points=3.0)
    assert score_of([quiz(1, 0.7, 1.0, 1, score=10.0)], s) == 2.1
    assert score_of([ResultValue("1", 9.0, 0.7, 1.0, T)], s) == 2.1


def test_no_points_possible_and_no_mastery_points_gives_no_value() -> None:
    s = settings(points_possible=None, mastery_points=None)
    assert result_value(ResultValue("1", 9.0, 0.7, 1.0, T), s) is None
    assert score_of([ResultValue("1", 9.0, 0.7, 1.0, T)], s) is None


# --- which results count -------------------------------------------------------------------


def test_no_results_give_no_rollup() -> None:
    rollup = compute_rollup([], settings(method="decaying_average"))
    assert rollup == Rollup(None, 0, None, None, "decaying_average", 65, None)


def test_results_with_null_scores_are_dropped_before_anything_else() -> None:
    """result_analytics_spec "does not return rollup scores when all results are nil"."""
    for method in ("decaying_average", "standard_decaying_average", "n_mastery", "latest"):
        rollup = compute_rollup(
            scored(None, None, None), settings(method=method, calculation_int=3)
        )
        assert (rollup.score, rollup.count) == (None, 0)


def test_a_null_score_neither_counts_nor_averages() -> None:
    """result_analytics_spec: n_mastery(3) over [4, 5, 1, 3, nil, 3] -> 3.75."""
    rollup = compute_rollup(
        scored(4.0, 5.0, 1.0, 3.0, None, 3.0), settings(method="n_mastery", calculation_int=3)
    )
    assert (rollup.score, rollup.count) == (3.75, 5)


def test_deleted_results_are_dropped() -> None:
    results = [ResultValue("1", 5.0, None, None, T, deleted=True), *scored(2.0)]
    rollup = compute_rollup(results, settings())
    assert (rollup.score, rollup.count) == (2.0, 1)


@pytest.mark.parametrize(
    ("method", "calculation_int"),
    [
        ("highest", None),
        ("latest", None),
        ("average", None),
        ("n_mastery", 1),
        ("decaying_average", 65),
        ("weighted_average", 75),
        ("standard_decaying_average", 65),
    ],
)
def test_one_result_rolls_up_to_its_own_rounded_value(
    method: str, calculation_int: int | None
) -> None:
    """result_analytics_spec: a single 2.123 under decaying_average -> 2.12."""
    rollup = compute_rollup(scored(3.123), settings(method=method, calculation_int=calculation_int))
    assert (rollup.score, rollup.count) == (3.12, 1)


# --- order ----------------------------------------------------------------------------------


def test_latest_takes_the_last_result_in_time_and_a_missing_time_is_oldest() -> None:
    """result_analytics_spec "latest": times [nil, t, t - 1 day], scores [4, 3, 1] -> 3."""
    results = scored(4.0, 3.0, 1.0, at=[None, T, T - DAY])
    assert score_of(results, settings(method="latest")) == 3.0


def test_ties_in_time_are_broken_by_result_id_compared_as_numbers() -> None:
    nine = ResultValue("9", 1.0, None, None, T)
    ten = ResultValue("10", 5.0, None, None, T)
    # "10" < "9" as text; as ids 9 comes first, so 10 is the latest
    assert score_of([ten, nine], settings(method="latest")) == 5.0
    assert score_of([nine, ten], settings(method="latest")) == 5.0
    # weighted average 65: 5 * 0.65 + 1 * 0.35
    assert score_of([ten, nine], settings(method="decaying_average")) == 3.6


def test_assessed_at_is_truncated_to_whole_seconds_before_ordering() -> None:
    later_in_the_second = ResultValue("1", 1.0, None, None, T + timedelta(microseconds=900_000))
    earlier_in_the_second = ResultValue("2", 5.0, None, None, T + timedelta(microseconds=100_000))
    # same second: id order decides, so id 2 is the latest though its instant is earlier
    assert result_time(later_in_the_second) == result_time(earlier_in_the_second)
    assert score_of([later_in_the_second, earlier_in_the_second], settings(method="latest")) == 5.0


def test_a_naive_time_is_taken_as_utc() -> None:
    naive = ResultValue("1", 1.0, None, None, datetime(2024, 5, 1, 12))
    assert result_time(naive) == result_time(ResultValue("2", 1.0, None, None, T))


def test_submitted_at_when_known_orders_before_assessed_at() -> None:
    a = ResultValue("1", 5.0, None, None, T + DAY, submitted_at=T - DAY)
    b = ResultValue("2", 1.0, None, None, T)
    rollup = compute_rollup([a, b], settings(method="latest"))
    assert (rollup.score, rollup.latest_assessed_at) == (1.0, T)


def test_latest_assessed_at_is_the_time_of_the_latest_result() -> None:
    rollup = compute_rollup(scored(1.0, 2.0, at=[T + DAY, T]), settings())
    assert rollup.latest_assessed_at == T + DAY


# --- highest, average, n_mastery ---------------------------------------------------------


def test_highest_takes_the_maximum() -> None:
    assert score_of(scored(3.0, 1.0), settings(method="highest")) == 3.0


def test_average_is_the_plain_mean_of_all_values() -> None:
    """rollup service spec "average": [1, 2, 3, 4, 5] -> 3.0."""
    assert score_of(scored(1.0, 2.0, 3.0, 4.0, 5.0), settings(method="average")) == 3.0
    assert score_of(scored(1.0, 2.0, 2.0), settings(method="average")) == 1.67


def test_n_mastery_averages_every_score_at_or_above_mastery_not_just_the_top_n() -> None:
    """result_analytics_spec: n_mastery(3), M = 3, over [4, 5, 1, 3, 2, 3] -> 3.75
    (the mean of 4, 5, 3, 3; the top three alone would give 4.0)."""
    results = scored(4.0, 5.0, 1.0, 3.0, 2.0, 3.0)
    assert score_of(results, settings(method="n_mastery", calculation_int=3)) == 3.75


def test_n_mastery_examples_from_canvas_spec() -> None:
    """result_analytics_spec "n# of scores for mastery": [nil, nil, 3.75, nil, 3.0, 3.5]."""
    cases = [
        ((3.0, 1.0), 3, None),
        ((3.0, 1.0, 2.0), 3, None),
        ((4.0, 5.0, 1.0, 3.0, 2.0, 3.0), 3, 3.75),
        ((1.0, 2.0), 1, None),
        ((1.0, 2.0, 3.0), 1, 3.0),
        ((1.0, 2.0, 3.0, 4.0), 1, 3.5),
    ]
    for scores, n, expected in cases:
        assert (
            score_of(scored(*scores), settings(method="n_mastery", calculation_int=n)) == expected
        )


def test_n_mastery_short_of_n_results_has_no_score() -> None:
    assert score_of(scored(5.0, 5.0), settings(method="n_mastery", calculation_int=3)) is None


def test_n_mastery_with_fewer_than_n_at_or_above_mastery_has_no_score() -> None:
    """rollup service spec: [1..5], M = 3, n = 4 -> none; n = 3 -> 4.0."""
    results = scored(1.0, 2.0, 3.0, 4.0, 5.0)
    assert score_of(results, settings(method="n_mastery", calculation_int=4)) is None
    assert score_of(results, settings(method="n_mastery", calculation_int=3)) == 4.0


def test_n_mastery_rounds_its_mean() -> None:
    """result_analytics_spec "rounds results": n_mastery(3) over [3, 4, 3] -> 3.33."""
    assert score_of(scored(3.0, 4.0, 3.0), settings(method="n_mastery", calculation_int=3)) == 3.33


def test_n_mastery_with_no_mastery_points_has_no_score() -> None:
    s = settings(method="n_mastery", calculation_int=1, mastery_points=None)
    assert score_of(scored(3.0), s) is None


# --- decaying averages ----------------------------------------------------------------------


def test_decaying_average_is_latest_weighted_plus_mean_of_all_earlier() -> None:
    """result_analytics_spec: decaying_average 75 over [4, 5, 1, 3] at t, t-1d, t-2d,
    t-3d -> 4 * 0.75 + mean(3, 1, 5) * 0.25 = 3.75; a single 3.0 -> 3.0."""
    results = scored(4.0, 5.0, 1.0, 3.0, at=[T, T - DAY, T - 2 * DAY, T - 3 * DAY])
    assert score_of(results, settings(method="decaying_average", calculation_int=75)) == 3.75
    assert (
        score_of(scored(3.0, at=[T]), settings(method="decaying_average", calculation_int=75))
        == 3.0
    )


def test_decaying_average_orders_by_assessed_at_when_there_is_no_submitted_at() -> None:
    """result_analytics_spec "properly sorts results when there is no submitted_at":
    [3, 2] assessed at t, t-1d with 65 -> 3 * 0.65 + 2 * 0.35 = 2.65."""
    results = scored(3.0, 2.0, at=[T, T - DAY])
    assert score_of(results, settings(method="decaying_average", calculation_int=65)) == 2.65


def test_weighted_average_is_the_same_computation_as_decaying_average() -> None:
    results = scored(1.0, 2.0, 3.0, 4.0, 5.0, at=[T + i * DAY for i in range(5)])
    for flag in (True, False):
        weighted = score_of(results, settings(method="weighted_average", new_decaying_average=flag))
        decaying = score_of(results, settings(method="decaying_average", new_decaying_average=flag))
        assert weighted == decaying == 4.13


def test_legacy_decaying_average_of_1_to_5_is_4_13() -> None:
    """rollup service spec, flag off: 5 * 0.65 + mean(1..4) * 0.35 = 4.125 -> 4.13."""
    results = scored(1.0, 2.0, 3.0, 4.0, 5.0, at=[T + i * DAY for i in range(5)])
    s = settings(method="decaying_average", calculation_int=65, new_decaying_average=False)
    assert score_of(results, s) == 4.13


def test_standard_decaying_average_decays_step_by_step() -> None:
    """rollup service spec, flag on: [1..5] with 65 -> 1.65, 2.5275, 3.485, 4.47."""
    results = scored(1.0, 2.0, 3.0, 4.0, 5.0, at=[T + i * DAY for i in range(5)])
    s = settings(method="standard_decaying_average", calculation_int=65)
    assert score_of(results, s) == 4.47


def test_standard_decaying_average_vs_legacy_on_canvas_worked_example() -> None:
    """result_analytics_spec: [2, 3, 4] at t, t+1d, t+2d with 65: flag on, stored
    standard_decaying_average -> 3.53 (2.65, then 3.5275); flag off, stored
    decaying_average -> 4 * 0.65 + 2.5 * 0.35 = 3.475 -> 3.48."""
    results = scored(2.0, 3.0, 4.0, at=[T, T + DAY, T + 2 * DAY])
    on = settings(method="standard_decaying_average", calculation_int=65)
    off = settings(method="decaying_average", calculation_int=65, new_decaying_average=False)
    assert score_of(results, on) == 3.53
    assert score_of(results, off) == 3.48


def test_standard_decaying_average_runs_the_weighted_formula_when_the_flag_is_off() -> None:
    results = scored(2.0, 3.0, 4.0, at=[T, T + DAY, T + 2 * DAY])
    s = settings(method="standard_decaying_average", calculation_int=65, new_decaying_average=False)
    assert score_of(results, s) == 3.48


def test_standard_decaying_average_skips_null_scores_and_defaults_to_65() -> None:
    """result_analytics_spec: flag on, [2, 3, nil, 4] without times -> 3.53 (ties keep
    the database order)."""
    s = settings(method="standard_decaying_average", calculation_int=None)
    assert score_of(scored(2.0, 3.0, None, 4.0), s) == 3.53


# --- classic quizzes ------------------------------------------------------------------------


def test_classic_quiz_results_scale_by_points_possible() -> None:
    """result_analytics_spec "scales quiz scores to rubric score" -> [2.88, nil, 4.0]."""
    o1 = [quiz(1, 0.4, 1.0, 1, score=7.0), quiz(2, 0.9, 1.0, 2, T - DAY, score=12.0)]
    o2 = [quiz(1, 0.2, 1.0, 1), quiz(2, 0.5, 1.0, 2), quiz(3, 0.8, 1.0, 3)]
    o3 = [quiz(1, 0.2, 1.0, 1), quiz(2, 0.7, 1.0, 2), quiz(3, 0.8, 1.0, 3), quiz(4, 0.9, 1.0, 4)]
    assert score_of(o1, settings(method="decaying_average", calculation_int=65)) == 2.88
    assert score_of(o2, settings(method="n_mastery", calculation_int=3)) is None
    assert score_of(o3, settings(method="n_mastery", calculation_int=3)) == 4.0


def test_classic_quiz_results_of_different_quizzes_do_not_match() -> None:
    """result_analytics_spec "does not create false matches" -> [2.91, 3.18, 3.0, 3.18];
    the second is Canvas's own 3.175 -> 3.18."""
    s = settings(method="decaying_average", calculation_int=65, mastery_points=5.0)

    def rubric(rid: int, percent: float, possible: float) -> ResultValue:
        return ResultValue(
            str(rid), 1.0, percent, possible, T - DAY, "RubricAssessment", "Assignment", "1"
        )

    o1 = [quiz(1, 0.6, 1.0, 1), quiz(2, 0.7, 1.0, 2, T - DAY), quiz(3, 0.4, 1.0, 3, T - 2 * DAY)]
    o2 = [quiz(1, 0.6, 2.0, 1), quiz(2, 0.7, 3.0, 2, T - DAY)]
    o3 = [quiz(1, 0.6, 1.0, 1), rubric(2, 0.6, 1.0)]
    o4 = [quiz(1, 0.6, 2.0, 1), rubric(2, 0.7, 3.0)]
    assert [score_of(o, s) for o in (o1, o2, o3, o4)] == [2.91, 3.18, 3.0, 3.18]


def test_classic_quiz_results_enter_once_each_with_their_quiz_weighted_mean() -> None:
    """result_analytics_spec "properly aligns and weights decaying average results for
    matches" -> [2.9, 1.84, 3.3]: quiz 1 (three results) is 2.83, quiz 2 is 3.17, and
    the rollup is (3.17 * 3 + 2.83 * 2) / 5 * 0.35 + 2.83 * 0.65."""
    s = settings(method="decaying_average", calculation_int=65, mastery_points=5.0)
    y = T - DAY
    o1 = [
        quiz(1, 0.6, 1.0, 1), quiz(2, 0.7, 1.0, 1), quiz(3, 0.4, 1.0, 1),
        quiz(4, 0.5, 1.0, 2, y), quiz(5, 0.8, 1.0, 2, y), quiz(6, 0.6, 1.0, 2, y),
    ]  # fmt: skip
    o2 = [
        quiz(1, 0.6, 3.0, 1), quiz(2, 0.1, 5.0, 1), quiz(3, 0.4, 2.0, 1),
        quiz(4, 0.5, 5.0, 2, y), quiz(5, 0.8, 2.0, 2, y), quiz(6, 0.6, 3.0, 2, y),
    ]  # fmt: skip
    o3 = [quiz(1, 0.6, 2.0, 1), quiz(2, 0.7, 3.0, 1)]
    assert [score_of(o, s) for o in (o1, o2, o3)] == [2.9, 1.84, 3.3]
    assert compute_rollup(o1, s).count == 6


def test_classic_quiz_aggregation_applies_to_latest_and_average() -> None:
    """result_analytics_spec "latest score results for matches" -> [2.83, 1.55]."""
    s = settings(method="latest", mastery_points=5.0)
    y = T - DAY
    o1 = [
        quiz(1, 0.6, 1.0, 1), quiz(2, 0.7, 1.0, 1), quiz(3, 0.4, 1.0, 1),
        quiz(4, 0.5, 1.0, 2, y), quiz(5, 0.6, 1.0, 2, y), quiz(6, 0.8, 1.0, 2, y),
    ]  # fmt: skip
    o2 = [
        quiz(1, 0.6, 3.0, 1), quiz(2, 0.1, 5.0, 1), quiz(3, 0.4, 2.0, 1),
        quiz(4, 0.5, 5.0, 2, y), quiz(5, 0.8, 2.0, 2, y), quiz(6, 0.6, 3.0, 2, y),
    ]  # fmt: skip
    assert [score_of(o, s) for o in (o1, o2)] == [2.83, 1.55]
    three = [quiz(1, 0.6, 1.0, 1), quiz(2, 0.7, 1.0, 1), quiz(3, 0.4, 1.0, 1)]
    rollup = compute_rollup(three, settings(method="average"))
    assert (rollup.score, rollup.count) == (2.83, 3)


def test_highest_and_n_mastery_use_each_quiz_result_own_value() -> None:
    """result_analytics_spec "does not use aggregate score when calculation method is
    'highest'" -> 4.0 and "... 'n_mastery'" (n = 3, M = 3) -> 3.38."""
    y = T - DAY
    res = [
        quiz(1, 0.6, 1.0, 1), quiz(2, 0.7, 1.0, 1), quiz(3, 0.4, 1.0, 1),
        quiz(4, 0.5, 1.0, 2, y), quiz(5, 0.6, 1.0, 2, y), quiz(6, 0.8, 1.0, 2, y),
    ]  # fmt: skip
    assert score_of(res, settings(method="highest", mastery_points=5.0)) == 4.0
    assert score_of(res, settings(method="n_mastery", calculation_int=3)) == 3.38


def test_a_mix_of_quiz_and_assignment_results() -> None:
    """result_analytics_spec "properly calculates a mix of assignment and quiz results"
    -> [2.41, 3.5] (one student, so the course mean is the student's rollup)."""
    o1 = [
        quiz(1, 0.4, 1.0, 1, score=7.0),
        quiz(2, 0.9, 1.0, 2, T - DAY, score=12.0),
        ResultValue("3", 3.0, None, None, None, submitted_at=T - 2 * DAY),
        ResultValue("4", 2.0, None, None, None, submitted_at=T - 3 * DAY),
    ]
    o2 = [
        quiz(1, 0.2, 1.0, 1, score=30.0),
        quiz(2, 0.5, 1.0, 2, score=75.0),
        quiz(3, 0.8, 1.0, 3, score=120.0),
        *[ResultValue(str(i), s, None, None, None) for i, s in ((4, 3.0), (5, 3.5))],
    ]
    assert score_of(o1, settings(method="decaying_average", calculation_int=65)) == 2.41
    assert score_of(o2, settings(method="n_mastery", calculation_int=3)) == 3.5


def test_a_quiz_result_whose_quiz_has_a_result_without_percent_has_no_score() -> None:
    """Canvas raises in `get_aggregates` (possible * nil): there is no number to match."""
    results = [quiz(1, 0.6, 1.0, 1), quiz(2, None, 1.0, 1)]
    assert score_of(results, settings(method="average")) is None


def test_a_quiz_with_zero_total_possible_has_no_value() -> None:
    assert score_of([quiz(1, 0.6, 0.0, 1)], settings(method="latest")) is None
    assert score_of([quiz(1, 0.6, 0.0, 1)], settings(method="highest")) == 3.0


def test_quiz_results_without_possible_are_left_out_of_their_quiz_mean() -> None:
    results = [quiz(1, 0.6, 1.0, 1), quiz(2, 0.2, None, 1)]
    assert score_of(results, settings(method="average")) == 3.0


# --- mastery scales ---------------------------------------------------------------------


def test_settings_from_the_default_scale() -> None:
    s = settings_from_scale(DEFAULT_MASTERY_SCALE, "highest", None)
    assert (s.points_possible, s.mastery_points) == (4.0, 3.0)
    assert [r.color for r in s.ratings] == ["0374B5", "0B874B", "FAB901", "D97900", "E0061F"]


def test_a_scale_replaces_points_possible_and_mastery_points() -> None:
    """rollup service spec "uses outcome proficiency for score scaling": score 2 of 5
    (percent 0.4) under a scale topped at 4 -> 1.6, whatever the outcome's own P."""
    scale = (
        Rating("Exceeds Mastery", 4.0, "127A1B"),
        Rating("Mastery", 3.0, "0B874B", mastery=True),
        Rating("Near Mastery", 2.0, "FC5E13"),
        Rating("Below Mastery", 1.0, "E0061F"),
    )
    rollup = compute_rollup(
        [ResultValue("1", 2.0, 0.4, 5.0, T)], settings_from_scale(scale, "highest", None)
    )
    assert rollup.score == 1.6
    assert rollup.mastery is False
    assert rollup.rating == Rating("Below Mastery", 1.0, "E0061F")


def test_scale_ratings_are_put_in_points_descending_order() -> None:
    shuffled = (Rating("b", 1.0), Rating("top", 6.0), Rating("m", 4.0, mastery=True))
    s = settings_from_scale(shuffled, "decaying_average", None, new_decaying_average=False)
    assert [r.points for r in s.ratings] == [6.0, 4.0, 1.0]
    assert (s.points_possible, s.mastery_points, s.new_decaying_average) == (6.0, 4.0, False)


def test_a_scale_without_a_mastery_rating_gives_no_mastery() -> None:
    s = settings_from_scale((Rating("a", 4.0), Rating("b", 0.0)), "highest", None)
    assert s.mastery_points is None
    assert compute_rollup(scored(3.0), s).mastery is None
    empty = settings_from_scale((), "highest", None)
    assert (empty.points_possible, empty.mastery_points) == (None, None)


# --- rating and mastery of a rollup -------------------------------------------------------


def test_mastery_is_score_at_or_above_mastery_points() -> None:
    assert compute_rollup(scored(3.0), settings()).mastery is True
    assert compute_rollup(scored(2.99), settings()).mastery is False


def test_a_rollup_without_score_has_no_mastery_and_no_rating() -> None:
    rollup = compute_rollup(scored(1.0), settings(method="n_mastery", calculation_int=1))
    assert (rollup.score, rollup.mastery, rollup.rating) == (None, None, None)


def test_rating_is_the_first_whose_points_are_at_or_below_the_score() -> None:
    assert rating_for(4.0, DEFAULT_RUBRIC_CRITERION_RATINGS) == Rating("Meets Expectations", 3.0)
    assert rating_for(5.0, DEFAULT_RUBRIC_CRITERION_RATINGS) == Rating("Exceeds Expectations", 5.0)
    scale = DEFAULT_MASTERY_SCALE
    assert rating_for(3.0, scale) == Rating("Mastery", 3.0, "0B874B", mastery=True)


def test_a_score_below_every_rating_has_none() -> None:
    ratings = (Rating("high", 5.0), Rating("low", 1.0))
    assert rating_for(0.5, ratings) is None
    assert rating_for(None, ratings) is None
    assert rating_for(3.0, ()) is None


def test_the_gradebook_cell_scales_the_score_to_the_top_rating() -> None:
    """LMGB jest test of `Grid.View.masteryDetails`: outcome P 10, M 5, ratings 10/5/0:
    10 -> first, 9 -> second, 5 -> second."""
    ratings = (
        Rating("great", 10.0, "00ff00"),
        Rating("OK", 5.0, "0000ff"),
        Rating("turrable", 0.0, "ff0000"),
    )
    assert lmgb_cell_rating(10.0, ratings, 10.0, 5.0).description == "great"
    assert lmgb_cell_rating(9.0, ratings, 10.0, 5.0).description == "OK"
    assert lmgb_cell_rating(5.0, ratings, 10.0, 5.0).description == "OK"
    assert lmgb_cell_rating(4.0, ratings, 10.0, 5.0).description == "turrable"
    # P 5 onto a top rating of 10: 4 of 5 is 8 on the scale
    assert lmgb_cell_rating(4.0, ratings, 5.0, 3.0).description == "OK"


def test_the_gradebook_cell_takes_the_last_rating_below_every_rating() -> None:
    ratings = (Rating("high", 4.0, "aaaaaa"), Rating("low", 1.0, "bbbbbb"))
    assert lmgb_cell_rating(0.5, ratings, 4.0, 3.0).description == "low"
    assert rating_for(0.5, ratings) is None  # where the server rule has none


def test_the_gradebook_cell_uses_mastery_points_when_points_possible_is_zero() -> None:
    ratings = (Rating("high", 4.0), Rating("low", 0.0))
    assert lmgb_cell_rating(3.0, ratings, 0.0, 3.0).description == "high"  # 3 / 3 * 4
    assert lmgb_cell_rating(3.0, ratings, 0.0, 0.0).description == "low"  # unscaled 3 < 4


def test_the_gradebook_cell_without_ratings_uses_the_legacy_bands() -> None:
    assert lmgb_cell_rating(4.5, (), 5.0, 3.0).description == "Exceeds Mastery"
    assert lmgb_cell_rating(3.0, (), 5.0, 3.0).description == "Meets Mastery"
    assert lmgb_cell_rating(1.5, (), 5.0, 3.0).description == "Near Mastery"
    assert lmgb_cell_rating(1.4, (), 5.0, 3.0).description == "Well Below Mastery"


# --- course aggregate and rating distribution -----------------------------------------------


def test_course_mean_and_median_from_canvas_spec() -> None:
    """result_analytics_spec "returns one rollup with the rollup averages / medians":
    outcome 80 students at [1, 2, 3, 40] -> mean 11.5, median 2.5; outcome 81 at
    [5, 6, 70] -> mean 27.0, median 6."""
    assert course_aggregate([1.0, 2.0, 3.0, 40.0], "mean") == 11.5
    assert course_aggregate([5.0, 6.0, 70.0], "mean") == 27.0
    assert course_aggregate([1.0, 2.0, 3.0, 40.0], "median") == 2.5
    assert course_aggregate([5.0, 70.0, 6.0], "median") == 6.0


def test_course_aggregate_over_student_rollups_with_latest_override() -> None:
    """result_analytics_spec "overrides the aggregate score calculation ... method set"
    (latest): student a's two untimed results [1.0, 0.0] tie, the later id wins (0.0), so
    the course mean of [0, 2, 3, 40] is 11.25."""
    s = settings(method="latest")
    students = [scored(1.0, 0.0), scored(2.0), scored(3.0), scored(40.0)]
    scores = [compute_rollup(r, s).score for r in students]
    assert course_aggregate(scores, "mean") == 11.25


def test_course_mean_is_rounded_and_median_is_not() -> None:
    assert course_aggregate([0.01, 0.02], "mean") == 0.02
    assert course_aggregate([0.01, 0.02], "median") == 0.015


def test_course_aggregate_skips_students_without_score_and_is_none_without_any() -> None:
    """result_analytics_spec "with n_mastery outcome and results below mastery": both
    students' rollups have no score -> mean and median are nil."""
    assert course_aggregate([None, None], "mean") is None
    assert course_aggregate([None, None], "median") is None
    assert course_aggregate([], "mean") is None
    assert course_aggregate([None, 3.0, 4.0], "mean") == 3.5


def _rollup(score: float | None, count: int = 1) -> Rollup:
    return Rollup(score, count, None, None, "highest", None, None)


def test_rating_distribution_from_canvas_spec() -> None:
    """result_analytics_spec "computes percents": rollups 4.0 and 5.0 on the default
    criterion (5 / 3 / 0) -> [50, 50, 0]; with the default scale, rollups 4, 5, 2 ->
    [67, 0, 33, 0, 0], and on the criterion -> [33, 33, 33]."""
    two = [_rollup(4.0), _rollup(5.0)]
    assert [p for _, p in rating_distribution(two, DEFAULT_RUBRIC_CRITERION_RATINGS)] == [50, 50, 0]
    three = [_rollup(4.0), _rollup(5.0), _rollup(2.0)]
    assert [p for _, p in rating_distribution(three, DEFAULT_MASTERY_SCALE)] == [67, 0, 33, 0, 0]
    assert [p for _, p in rating_distribution(three, DEFAULT_RUBRIC_CRITERION_RATINGS)] == [
        33,
        33,
        33,
    ]
    pairs = rating_distribution(three, DEFAULT_MASTERY_SCALE)
    assert pairs[0] == (DEFAULT_MASTERY_SCALE[0], 67)


def test_rating_distribution_rounds_half_away_from_zero() -> None:
    ratings = (Rating("high", 3.0), Rating("low", 0.0))
    rollups = [_rollup(3.0)] + [_rollup(1.0)] * 7
    assert [p for _, p in rating_distribution(rollups, ratings)] == [13, 88]


def test_rating_distribution_leaves_out_unrated_and_unscored_students() -> None:
    ratings = (Rating("high", 3.0), Rating("low", 1.0))
    rollups = [_rollup(3.0), _rollup(0.5), _rollup(None), _rollup(None, count=0)]
    assert [p for _, p in rating_distribution(rollups, ratings)] == [100, 0]
    assert rating_distribution_counts([None, 0.5], ratings) == [0, 0]


# --- properties -----------------------------------------------------------------------------

_METHODS = [
    ("highest", None),
    ("latest", None),
    ("average", None),
    ("n_mastery", 2),
    ("decaying_average", 65),
    ("weighted_average", 30),
    ("standard_decaying_average", 80),
]
_scores = st.floats(min_value=0, max_value=10, allow_nan=False).map(lambda x: round(x, 3))
_results = st.lists(
    st.tuples(
        _scores, st.sampled_from([None, 0, 1, 2, 2.5, 3600]), st.sampled_from([None, 0.0, 0.5, 1.0])
    ),
    min_size=1,
    max_size=8,
)


def _build(rows: list[tuple[float, float | None, float | None]]) -> list[ResultValue]:
    out = []
    for i, (score, offset, percent) in enumerate(rows):
        at = None if offset is None else T + timedelta(seconds=offset)
        out.append(ResultValue(str(i + 1), score, percent, 1.0, at))
    return out


@given(rows=_results, method=st.sampled_from(_METHODS), seed=st.integers(0, 2**32))
def test_input_order_does_not_change_the_rollup(
    rows: list[tuple[float, float | None, float | None]], method: tuple[str, int | None], seed: int
) -> None:
    results = _build(rows)
    shuffled = list(results)
    random.Random(seed).shuffle(shuffled)
    s = settings(method=method[0], calculation_int=method[1])
    assert compute_rollup(shuffled, s) == compute_rollup(results, s)


@given(rows=_results, method=st.sampled_from(_METHODS))
def test_a_rollup_lies_within_its_values(
    rows: list[tuple[float, float | None, float | None]], method: tuple[str, int | None]
) -> None:
    results = _build(rows)
    s = settings(method=method[0], calculation_int=method[1])
    values = [v for v in (result_value(r, s) for r in results) if v is not None]
    score = compute_rollup(results, s).score
    if score is not None:
        assert round_half_up(min(values)) - 0.01 <= score <= round_half_up(max(values)) + 0.01


@given(x=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_round_half_up_moves_by_at_most_half_a_cent(x: float) -> None:
    assert abs(round_half_up(x) - x) <= 0.005 + 1e-9


@given(values=st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=20))
def test_ruby_sum_agrees_with_the_exact_sum_to_a_few_ulps(values: list[float]) -> None:
    exact = math.fsum(values)
    assert abs(ruby_sum(values) - exact) <= 4 * math.ulp(exact) + 1e-300


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2200, 1, 1),
        timezones=st.sampled_from(
            [None, UTC, timezone(timedelta(hours=-5)), timezone(timedelta(minutes=330))]
        ),
    )
)
def test_moment_seconds_is_ruby_to_i_as_timegm_computes_it(moment: datetime) -> None:
    assert moment_seconds(moment) == calendar.timegm(moment.utctimetuple())


_values = st.sampled_from([None, -0.0, 0.0, 1.0, 2.5, 3.0, 4.0, 5.0])


@given(
    rows=st.lists(
        st.lists(st.tuples(_values, _values, st.sampled_from([0, 1, 3600])), max_size=4),
        min_size=1,
        max_size=12,
    ),
    method=st.sampled_from(_METHODS),
    quizzes=st.booleans(),
)
def test_rules_shared_by_many_rollups_give_each_its_own_answer(
    rows: list[list[tuple[float | None, float | None, int]]],
    method: tuple[str, int | None],
    quizzes: bool,
) -> None:
    """A grid works rules out once and reuses them (they remember scores met before)."""
    s = settings(method=method[0], calculation_int=method[1])
    shared = rules_for(s)
    for i, student in enumerate(rows):
        results = [
            ResultValue(
                str(10 * i + n),
                score,
                percent,
                4.0,
                T + timedelta(seconds=offset),
                QUIZ_SUBMISSION if quizzes and n % 2 else None,
                "Quizzes::Quiz",
                "9",
            )
            for n, (score, percent, offset) in enumerate(student)
        ]
        kept = [found for found in map(scored_result, results) if found is not None]
        expected = compute_rollup(results, s)
        got = rollup_of(kept, shared)
        assert got == expected
        assert repr(got.score) == repr(expected.score)  # -0.0 is not 0.0 here
