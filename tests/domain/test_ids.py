from __future__ import annotations

import pytest

from domain.ids import InvalidId, aggregate_id, id_sort_key, local_id, normalise_id, shard_of


def test_ids_arrive_as_numbers_or_strings_and_leave_as_strings() -> None:
    assert normalise_id(565) == "565"
    assert normalise_id(" 565 ") == "565"
    assert normalise_id("abc-uuid") == "abc-uuid"


@pytest.mark.parametrize("value", [True, 1.0, -1, "", "   ", None, [], {}, "x" * 300])
def test_odd_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidId):
        normalise_id(value)


def test_a_global_id_is_reduced_to_its_local_id_on_the_home_shard() -> None:
    home = shard_of("21070000000000001")
    assert home == 2107
    assert local_id("21070000000000565", home) == "565"
    assert local_id("565", home) == "565"


def test_a_global_id_from_another_shard_stays_global() -> None:
    assert local_id("99990000000000565", 2107) == "99990000000000565"


def test_aggregate_ids_are_deterministic_and_distinct_by_kind() -> None:
    assert aggregate_id("1", "outcome", "5") == aggregate_id("1", "outcome", "5")
    assert aggregate_id("1", "outcome", "5") != aggregate_id("1", "result", "5")
    assert aggregate_id("1", "outcome", "5") != aggregate_id("2", "outcome", "5")


def test_ids_sort_numerically_like_canvas_database_order() -> None:
    assert sorted(["10", "9", "100"], key=id_sort_key) == ["9", "10", "100"]
