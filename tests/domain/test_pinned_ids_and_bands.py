"""Pinned values for the id normaliser and the LMGB's legacy colour bands.

Every expected value here comes from outside the code: the ids from hand arithmetic on
Canvas's global-id rule (shard * 10**13 + local id) and its bigint limit, the bands
from Canvas's `Grid.View.legacyMasteryDetails` (the Learning Mastery Gradebook): with
mastery M, "Exceeds Mastery" (#127A1B) from M + M / 2, "Meets Mastery" (#0B874B,
standard contrast) from M, "Near Mastery" (#FC5E13) from M / 2, else "Well Below
Mastery" (#E0061F).
"""

from __future__ import annotations

import pytest

from domain.ids import (
    ID_FIELDS,
    InvalidId,
    id_sort_key,
    local_id,
    normalise_id,
    normalise_ids,
    normalise_text_id,
    shard_of,
)
from domain.rating import Rating, legacy_mastery_band, lmgb_cell_rating

# --- the legacy bands ---------------------------------------------------------------

EXCEEDS_3 = Rating("Exceeds Mastery", 4.5, "127A1B")
MEETS_3 = Rating("Meets Mastery", 3.0, "0B874B", mastery=True)
NEAR_3 = Rating("Near Mastery", 1.5, "FC5E13")
BELOW = Rating("Well Below Mastery", 0.0, "E0061F")


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (9.0, EXCEEDS_3),
        (4.5, EXCEEDS_3),  # exactly M + M / 2
        (4.49, MEETS_3),
        (3.0, MEETS_3),  # exactly M
        (2.99, NEAR_3),
        (1.5, NEAR_3),  # exactly M / 2
        (1.49, BELOW),
        (0.0, BELOW),
        (-1.0, BELOW),
    ],
)
def test_the_legacy_bands_of_mastery_3_are_canvas_s(score: float, band: Rating) -> None:
    assert legacy_mastery_band(score, 3.0) == band
    # the gradebook paints with them when the page has no scale's ratings
    assert lmgb_cell_rating(score, [], 10.0, 3.0) == band


def test_the_legacy_bands_move_with_mastery_points() -> None:
    # M = 4: bands at 6, 4 and 2 (hand computed: 4 + 4 / 2, 4, 4 / 2)
    assert legacy_mastery_band(6.0, 4.0) == Rating("Exceeds Mastery", 6.0, "127A1B")
    assert legacy_mastery_band(5.99, 4.0) == Rating("Meets Mastery", 4.0, "0B874B", True)
    assert legacy_mastery_band(2.0, 4.0) == Rating("Near Mastery", 2.0, "FC5E13")
    assert legacy_mastery_band(1.99, 4.0) == BELOW
    # M = 5: 7.5, 5 and 2.5 (the halves are not whole)
    assert legacy_mastery_band(7.5, 5.0).description == "Exceeds Mastery"
    assert legacy_mastery_band(7.4, 5.0).description == "Meets Mastery"
    assert legacy_mastery_band(2.5, 5.0) == Rating("Near Mastery", 2.5, "FC5E13")
    assert legacy_mastery_band(2.4, 5.0) == BELOW


def test_only_meets_mastery_is_the_mastery_band() -> None:
    flags = [legacy_mastery_band(score, 3.0).mastery for score in (5.0, 3.5, 2.0, 1.0)]
    assert flags == [False, True, False, False]


# --- normalise_id -------------------------------------------------------------------


def test_canvas_ids_of_every_json_type_become_one_string() -> None:
    assert normalise_id(42) == "42"
    assert normalise_id(10**13 + 5) == "10000000000005"
    assert normalise_id("  1201234 ") == "1201234"
    assert normalise_id("9223372036854775807") == "9223372036854775807"  # 2**63 - 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "an id cannot be a boolean (True)"),
        (False, "an id cannot be a boolean (False)"),
        ("", "an id cannot be empty"),
        ("   ", "an id cannot be empty"),
        (1.0, "an id must be a string or an integer, not float"),
        (None, "an id must be a string or an integer, not NoneType"),
        ([1], "an id must be a string or an integer, not list"),
        ("12a", "'12a' is not a Canvas id (ASCII digits 0-9, at most 9223372036854775807)"),
        (-5, "'-5' is not a Canvas id (ASCII digits 0-9, at most 9223372036854775807)"),
        (
            "9223372036854775808",
            "'9223372036854775808' is not a Canvas id (ASCII digits 0-9, at most "
            "9223372036854775807)",
        ),
        (
            "x" * 40,
            "'" + "x" * 40 + "' is not a Canvas id (ASCII digits 0-9, at most 9223372036854775807)",
        ),
        (
            "y" * 41,
            "'" + "y" * 40 + "...' is not a Canvas id (ASCII digits 0-9, at most "
            "9223372036854775807)",
        ),
    ],
)
def test_a_value_that_is_no_canvas_id_is_refused_saying_why(value: object, message: str) -> None:
    with pytest.raises(InvalidId) as caught:
        normalise_id(value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "an id cannot be a boolean (True)"),
        (" ", "an id cannot be empty"),
        ("g" * 256, "an id cannot be 256 characters long"),
        (2.5, "an id must be a string or an integer, not float"),
    ],
)
def test_a_text_id_is_refused_saying_why(value: object, message: str) -> None:
    with pytest.raises(InvalidId) as caught:
        normalise_text_id(value)
    assert str(caught.value) == message


def test_text_ids_keep_their_text() -> None:
    assert normalise_text_id(7) == "7"
    assert normalise_text_id(" vendor-1 ") == "vendor-1"
    assert normalise_text_id("g" * 255) == "g" * 255


# --- normalise_ids ------------------------------------------------------------------


def test_a_clean_mapping_is_returned_itself() -> None:
    body = {"user_id": "5", "vendor_guid": "abc", "title": 7, "outcome_proficiency_ratings": []}
    assert normalise_ids(body) is body
    with_ratings = {"outcome_proficiency_ratings": [{"id": "1", "points": 3}, "odd"]}
    assert normalise_ids(with_ratings) is with_ratings


def test_every_id_field_is_made_a_string_in_a_copy() -> None:
    body = {"user_id": 5, "learning_outcome_id": " 12 ", "context_id": None, "title": 7}
    assert normalise_ids(body) == {
        "user_id": "5",
        "learning_outcome_id": "12",
        "context_id": None,
        "title": 7,
    }
    assert body == {"user_id": 5, "learning_outcome_id": " 12 ", "context_id": None, "title": 7}


def test_text_ids_are_trimmed_and_numbers_made_text() -> None:
    assert normalise_ids({"vendor_guid": " v-1 "}) == {"vendor_guid": "v-1"}
    assert normalise_ids({"vendor_guid": 17}) == {"vendor_guid": "17"}


def test_the_ratings_of_a_scale_have_their_ids_normalised_too() -> None:
    scale = {
        "outcome_proficiency_id": "1",
        "outcome_proficiency_ratings": [
            {"outcome_proficiency_rating_id": 7, "points": 3},
            {"outcome_proficiency_rating_id": "8", "points": 2},
            "odd",
        ],
    }
    assert normalise_ids(scale) == {
        "outcome_proficiency_id": "1",
        "outcome_proficiency_ratings": [
            {"outcome_proficiency_rating_id": "7", "points": 3},
            {"outcome_proficiency_rating_id": "8", "points": 2},
            "odd",
        ],
    }
    both = {"user_id": 3, "outcome_proficiency_ratings": [{"id": 4}]}
    assert normalise_ids(both) == {"user_id": "3", "outcome_proficiency_ratings": [{"id": "4"}]}


def test_a_bad_id_is_named_by_its_field() -> None:
    with pytest.raises(InvalidId) as caught:
        normalise_ids({"user_id": True})
    assert str(caught.value) == "user_id: an id cannot be a boolean (True)"
    with pytest.raises(InvalidId) as nested:
        normalise_ids({"outcome_proficiency_ratings": [{"id": ""}]})
    assert str(nested.value) == "id: an id cannot be empty"


# --- shards -------------------------------------------------------------------------


def test_the_shard_of_a_global_id_is_its_quotient_by_ten_to_the_thirteen() -> None:
    assert shard_of("10000000000005") == 1
    assert type(shard_of("10000000000005")) is int
    assert shard_of("21070000000012345") == 2107
    assert shard_of("10000000000000") == 1  # exactly 10**13
    assert shard_of("9999999999999") is None  # 10**13 - 1: a local id
    assert shard_of("5") is None
    assert shard_of(10000000000005) is None  # not a string
    assert shard_of("abc") is None
    assert shard_of(None) is None


def test_a_global_id_on_the_home_shard_becomes_local() -> None:
    assert local_id("21070000000012345", 2107) == "12345"
    assert local_id("10000000000000", 1) == "0"
    assert local_id("21080000000012345", 2107) == "21080000000012345"  # another shard
    assert local_id("12345", 2107) == "12345"
    assert local_id("21070000000012345", None) == "21070000000012345"
    assert local_id("legacy-abc", 2107) == "legacy-abc"


# --- the order of ids ---------------------------------------------------------------


def test_ids_sort_numerically_then_other_keys_in_text_order_then_none() -> None:
    assert id_sort_key(None) == (2, 0, "")
    assert id_sort_key("12") == (0, 12, "12")
    assert id_sort_key("legacy-b") == (1, 0, "legacy-b")
    ids = ["legacy-b", None, "10", "9", "legacy-a", "10000000000005"]
    assert sorted(ids, key=id_sort_key) == [
        "9",
        "10",
        "10000000000005",
        "legacy-a",
        "legacy-b",
        None,
    ]


def test_a_null_id_field_leaves_the_others_to_be_normalised() -> None:
    fields = sorted(ID_FIELDS)
    for empty in fields:
        body = {field: (None if field == empty else 5) for field in fields}
        normalised = normalise_ids(body)
        assert normalised[empty] is None
        assert all(normalised[field] == "5" for field in fields if field != empty)
