"""Which result is "the latest" when several share an assessed second.

Canvas, `RollupScore#initialize`: `latest_result = @outcome_results.max_by { |r|
result_time(r) }` and the rollup's `submitted_at` is that result's `submitted_at ||
assessed_at`. `result_time` is whole seconds (`Time#to_i`), and Ruby's `max_by` keeps
the FIRST of equal maxima (enum.c `max_by_i` replaces its memo only when the new key
compares greater). The results come in database order, result id ascending. So of
two results in one second, the rollup carries the time of the lower id, even when the
other's instant is later; the expected values below follow from that alone.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.rollup import ResultValue, compute_rollup
from domain.rollup_settings import RollupSettings

SECOND = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
EARLY = SECOND.replace(microsecond=250_000)
LATE = SECOND.replace(microsecond=750_000)
NEXT_DAY = datetime(2024, 5, 2, 9, 0, 0, tzinfo=UTC)


def criterion(method: str) -> RollupSettings:
    return RollupSettings(method, None, 5.0, 3.0)


@pytest.mark.parametrize("method", ["highest", "average", "latest", "decaying_average"])
def test_of_two_results_in_one_second_the_lower_id_is_the_latest(method: str) -> None:
    """Ids 1 and 2 in one second: `max_by` keeps id 1, whose instant is the earlier."""
    first = ResultValue("1", 2.0, None, None, EARLY)
    second = ResultValue("2", 4.0, None, None, LATE)
    for results in ([first, second], [second, first]):
        assert compute_rollup(results, criterion(method)).latest_assessed_at == EARLY


@pytest.mark.parametrize("method", ["highest", "latest"])
def test_the_first_in_id_order_wins_the_tie_even_when_its_instant_is_later(method: str) -> None:
    """Ids 9 and 10 (9 first, compared as numbers): id 9 assessed at .750 wins over
    id 10 at .250; an older result on another day changes nothing."""
    nine = ResultValue("9", 2.0, None, None, LATE)
    ten = ResultValue("10", 4.0, None, None, EARLY)
    old = ResultValue("3", 1.0, None, None, SECOND.replace(day=1, hour=8))
    for results in ([ten, old, nine], [nine, ten, old], [old, ten, nine]):
        assert compute_rollup(results, criterion(method)).latest_assessed_at == LATE


def test_a_later_second_beats_any_tie_before_it() -> None:
    results = [
        ResultValue("1", 2.0, None, None, EARLY),
        ResultValue("2", 4.0, None, None, LATE),
        ResultValue("3", 3.0, None, None, NEXT_DAY),
    ]
    assert compute_rollup(results, criterion("highest")).latest_assessed_at == NEXT_DAY
