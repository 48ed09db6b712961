"""Rollups whose answer depends on the path `rollup_of` takes (its fast paths).

Expected values by hand from Canvas's `RollupScore` and `alignment_aggregate_score`,
and one from Ruby itself (noted where it is used).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.rollup import (
    QUIZ_SUBMISSION,
    ResultValue,
    compute_rollup,
    rollup_of,
    rules_for,
    scored_result,
)
from domain.rollup_settings import RollupSettings

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def quiz_result(result_id: str, percent: float, at: datetime) -> ResultValue:
    return ResultValue(result_id, 1.0, percent, 2.0, at, QUIZ_SUBMISSION, "Quizzes::Quiz", "7")


def test_two_results_of_one_classic_quiz_take_the_quiz_s_mean() -> None:
    # latest: the last result's value, which for a classic quiz is its quiz's
    # sum(possible * percent) / sum(possible) * P = (2 * 0.5 + 2 * 1.0) / 4 * 5 = 3.75
    results = [quiz_result("1", 0.5, T0), quiz_result("2", 1.0, T0 + HOUR)]
    rollup = compute_rollup(results, RollupSettings("latest", None, 5.0, 3.0))
    assert rollup.score == 3.75
    assert rollup.count == 2


def test_results_of_different_quizzes_each_keep_their_own_value() -> None:
    other = ResultValue("2", 1.0, 1.0, 2.0, T0 + HOUR, QUIZ_SUBMISSION, "Quizzes::Quiz", "8")
    results = [quiz_result("1", 0.5, T0), other]
    assert compute_rollup(results, RollupSettings("latest", None, 5.0, 3.0)).score == 5.0


def test_the_latest_of_three_is_the_last_in_time() -> None:
    results = [
        ResultValue("1", 1.0, None, None, T0 + 2 * HOUR),
        ResultValue("2", 2.0, None, None, T0),
        ResultValue("3", 3.0, None, None, T0 + HOUR),
    ]
    rollup = compute_rollup(results, RollupSettings("latest", None, 5.0, 3.0))
    assert rollup.score == 1.0
    assert rollup.latest_assessed_at == T0 + 2 * HOUR
    decaying = compute_rollup(results, RollupSettings("decaying_average", 80, 5.0, 3.0))
    assert decaying.calculation_int == 80
    assert decaying.latest_assessed_at == T0 + 2 * HOUR


def test_an_average_sums_in_database_order_not_in_time_order() -> None:
    # Ruby 3.1: ([0.6, 1.4000000000000001, 1.0, 9445712125000006.0].sum / 4).round(2)
    # is 2.361428031250002e+15; the same values reversed give 2361428031250002.5
    values = [0.6, 1.4000000000000001, 1.0, 9445712125000006.0]
    results = [
        ResultValue(str(i + 1), value, None, None, T0 - i * HOUR)  # id 1 is the latest
        for i, value in enumerate(values)
    ]
    rollup = compute_rollup(results, RollupSettings("average", None, 5.0, 3.0))
    assert rollup.score == 2.361428031250002e15


def test_a_remembered_score_never_stands_for_a_zero_of_the_other_sign() -> None:
    # Ruby: [-0.0].max is -0.0 and [0.0].max is 0.0; a grid shares one rules object
    rules = rules_for(RollupSettings("highest", None, 5.0, 3.0))
    positive = rollup_of([scored(ResultValue("1", 0.0, None, None, T0))], rules)
    negative = rollup_of([scored(ResultValue("2", -0.0, None, None, T0))], rules)
    again = rollup_of([scored(ResultValue("3", 0.0, None, None, T0))], rules)
    assert math.copysign(1.0, positive.score) == 1.0
    assert math.copysign(1.0, negative.score) == -1.0
    assert math.copysign(1.0, again.score) == 1.0
    pair = [ResultValue("4", -0.0, None, None, T0), ResultValue("5", -0.0, None, None, T0)]
    first_pair = rollup_of([scored(r) for r in pair], rules)
    assert math.copysign(1.0, first_pair.score) == -1.0


def scored(result: ResultValue) -> Any:
    value = scored_result(result)
    assert value is not None
    return value
