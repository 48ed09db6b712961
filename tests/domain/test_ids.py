from __future__ import annotations

import pytest

from domain.ids import (
    MAX_CANVAS_ID,
    InvalidId,
    aggregate_id,
    id_sort_key,
    is_canvas_id,
    local_id,
    normalise_id,
    normalise_ids,
    same_local_id,
    shard_of,
)

# Characters that `str.isdigit()` accepts and that are not ASCII digits: `int()`
# refuses the first kind and reads the others as the ASCII number.
NON_ASCII_DIGITS = [
    "\u00b2",  # superscript two
    "1\u00b9",  # digit, superscript one
    "\u2082",  # subscript two
    "\u2460",  # circled digit one
    "\uff15\uff16\uff15",  # fullwidth 565
    "\u0665\u0666\u0665",  # Arabic-Indic 565
    "\u06f5",  # extended Arabic-Indic five
    "\u0967",  # Devanagari one
    "5\u0665",  # mixed
]


def test_ids_arrive_as_numbers_or_strings_and_leave_as_strings() -> None:
    assert normalise_id(565) == "565"
    assert normalise_id(" 565 ") == "565"
    assert normalise_id(MAX_CANVAS_ID) == str(MAX_CANVAS_ID)


@pytest.mark.parametrize(
    "value",
    [
        *(True, 1.0, -1, "", "   ", None, [], {}, "x" * 300, "abc-uuid", "12\u00003", "-5"),
        *(MAX_CANVAS_ID + 1, str(MAX_CANVAS_ID + 1), "9" * 40, "1 2", "0x1F", "1e5", "1_000"),
    ],
)
def test_odd_ids_are_refused(value: object) -> None:
    with pytest.raises(InvalidId):
        normalise_id(value)


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
def test_digits_other_than_ascii_are_not_canvas_ids(text: str) -> None:
    assert any(c.isdigit() for c in text)  # what `isdigit` alone would let through
    assert not is_canvas_id(text)
    with pytest.raises(InvalidId, match="not a Canvas id"):
        normalise_id(text)


@pytest.mark.parametrize("text", NON_ASCII_DIGITS)
def test_readers_of_stored_ids_never_raise_on_non_ascii_digits(text: str) -> None:
    """A log written before ids were judged may hold such ids: they sort and stay as is."""
    assert shard_of(text) is None
    assert local_id(text, 2107) == text
    assert local_id("21070000000000565", shard_of(text)) == "21070000000000565"
    assert sorted(["10", text, "9"], key=id_sort_key) == ["9", "10", text]


def test_fullwidth_digits_are_not_merged_with_the_ascii_id() -> None:
    fullwidth = "\uff15\uff16\uff15"
    assert int(fullwidth) == 565  # why isdigit() + int() was not a judge of ids
    assert id_sort_key(fullwidth) != id_sort_key("565")


def test_a_vendor_guid_is_free_text_not_a_canvas_id() -> None:
    assert normalise_ids({"vendor_guid": "MATH-6-1"}) == {"vendor_guid": "MATH-6-1"}
    assert normalise_ids({"vendor_guid": 12}) == {"vendor_guid": "12"}
    with pytest.raises(InvalidId, match="vendor_guid"):
        normalise_ids({"vendor_guid": ""})


def test_the_ids_of_scale_ratings_are_judged_too() -> None:
    with pytest.raises(InvalidId, match="outcome_proficiency_rating_id"):
        normalise_ids(
            {"outcome_proficiency_ratings": [{"outcome_proficiency_rating_id": "\u00b2"}]}
        )


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


def test_an_id_in_global_and_in_local_form_names_the_same_object() -> None:
    assert same_local_id("21070000000000001", "1")
    assert same_local_id("1", "21070000000000001")
    assert same_local_id("565", "565")
    assert same_local_id("10000000000000", "0")  # exactly one shard: local id 0
    assert not same_local_id("21070000000000001", "2")
    assert not same_local_id("21070000000000001", "21070000000000002")
    assert not same_local_id("1", "10")


def test_only_canvas_ids_are_compared_as_numbers() -> None:
    assert same_local_id("acct", "acct")  # equal text is the same, whatever it is
    assert not same_local_id("\u0661", "1")  # an Arabic-Indic digit is not a Canvas id
    assert not same_local_id("1", "\u0661")
    assert not same_local_id("01x", "1")
