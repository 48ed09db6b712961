"""Canvas's calculation methods, as formulas over a student's values in order.

`RollupScore#calculate_results` and the `*_set` methods it dispatches to: each takes
the values (already scaled, in the method's order) and gives the rounded score. Kept
apart from domain/rollup.py, which decides which values, in which order, with which
settings. Pure: no I/O.
"""

from __future__ import annotations

from itertools import pairwise

from domain.ruby_math import round_half_up, ruby_sum


def score_by_formula(
    formula: str | None,
    calculation_int: int | None,
    result_count: int,
    values: list[float | None],
    mastery_points: float | None,
) -> float | None:
    """`RollupScore#calculate_results` and the `*_set` methods it dispatches to.

    `values`: each result's value (`result_value`, `_quiz_value`), in the method's order.
    """
    if formula is None:
        return None
    if formula == "latest":  # score_sets holds only `sorted_results.last`
        last = values[-1]
        return None if last is None else round_half_up(last)
    present = [v for v in values if v is not None]
    if len(present) < len(values):
        return None
    if formula == "highest":
        return round_half_up(max(present))
    if formula == "average":
        return round_half_up(ruby_sum(present) / len(present))
    if calculation_int is None:  # effective_method fills it for every method that reads it
        return None
    if formula == "n_mastery":
        return _n_mastery(present, calculation_int, result_count, mastery_points)
    if formula == "weighted_average":
        return _weighted_average(present, calculation_int)
    return _standard_decaying_average(present, calculation_int)


def _n_mastery(
    values: list[float], n: int, result_count: int, mastery_points: float | None
) -> float | None:
    """`n_mastery_set`: the mean of ALL values at or above mastery, once there are n.

    No score with fewer than n results at all (`@outcome_results.length < n`, counting
    every classic-quiz result), nor with fewer than n values >= M. The mean is not of the
    top n. (With n <= 0 and nothing at mastery Ruby would give NaN; here, no score.)
    """
    if result_count < n or mastery_points is None:
        return None
    at_mastery = [v for v in values if v >= mastery_points]
    if len(at_mastery) < n or not at_mastery:
        return None
    return round_half_up(ruby_sum(at_mastery) / len(at_mastery))


def _weighted_average(values: list[float], weight: int) -> float:
    """`decaying_average_set` (stored `decaying_average` / `weighted_average`).

    The latest value weighs `0.01 * w`, the plain mean of all earlier ones
    `0.01 * (100 - w)`; a single value is itself.
    """
    *older, latest = values
    if not older:
        return round_half_up(latest)
    latest_weighted = latest * (0.01 * weight)
    older_avg_weighted = (ruby_sum(older) / len(older)) * (0.01 * (100 - weight))
    return round_half_up(latest_weighted + older_avg_weighted)


def _standard_decaying_average(values: list[float], decay_rate: int) -> float:
    """`standard_decaying_average`: d = v1, then `d * (1 - w) + v * w` for each next v.

    Written as Canvas's `each_cons(2)` loop, with w as `0.01 * int`; one value is itself.
    """
    if len(values) == 1:
        return round_half_up(values[0])
    remaining_weight = 100 - decay_rate
    decay_avg: float | None = None
    for first, second in pairwise(values):
        base = first if decay_avg is None else decay_avg
        decay_avg = (base * (0.01 * remaining_weight)) + (second * (0.01 * decay_rate))
    assert decay_avg is not None
    return round_half_up(decay_avg)
