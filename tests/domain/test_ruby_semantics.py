"""domain/ruby_math.py against Ruby itself: answers MRI 3.1 gave, recorded as a fixture.

tests/fixtures/ruby/float_semantics.rb wrote tests/fixtures/ruby/float_semantics.json
(see its header for how to regenerate it). Nothing here is computed by the code under
test: each expected double is the one Ruby printed.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from domain.ruby_math import round_half_up, ruby_sum

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ruby" / "float_semantics.json"


@cache
def ruby() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(FIXTURE.read_bytes())
    return document


def same_double(a: float, b: float) -> bool:
    """Equal to the bit, the sign of a zero included."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def test_the_fixture_was_written_by_ruby() -> None:
    assert ruby()["ruby"].startswith("ruby 3.")
    assert len(ruby()["round2_of_k_over_1000"]) == 10_001


def test_round_half_up_gives_rubys_round_2_for_every_thousandth_from_0_to_10() -> None:
    """Ruby: `1.005.round(2) # => 1.01`, though the double 1.005 is below 1.005.

    68 of these 10,001 values are rounded differently by plain half away from zero on
    `x * 100` (the step-up of float.c's `round_half_up` decides them).
    """
    expected = ruby()["round2_of_k_over_1000"]
    wrong = [
        (k, round_half_up(k / 1000), want)
        for k, want in enumerate(expected)
        if not same_double(round_half_up(k / 1000), want)
    ]
    assert wrong == []
    assert expected[1005] == 1.01


def test_round_half_up_gives_rubys_round_2_for_every_negative_thousandth() -> None:
    expected = ruby()["round2_of_minus_k_over_1000"]
    wrong = [
        (k, round_half_up(-k / 1000), want)
        for k, want in enumerate(expected)
        if not same_double(round_half_up(-k / 1000), want)
    ]
    assert wrong == []


def test_the_thousandths_tell_rubys_round_from_plain_half_away_from_zero() -> None:
    """The fixture discriminates: a rounding without the step-up fails on 68 values."""
    expected = ruby()["round2_of_k_over_1000"]
    plain = [k for k, want in enumerate(expected) if math.floor(k / 1000 * 100 + 0.5) / 100 != want]
    assert len(plain) == 68
    assert 1005 in plain


def test_round_half_up_gives_rubys_answer_at_the_edges_for_0_to_4_places() -> None:
    """Half-way doubles, doubles just below them, -0.0001 (Ruby: 0.0 at 2 places, as it
    underflows, but -0.0 at 3, as C's `round(-0.1)` is -0.0), 1e17 (returned as it
    is), and sums that rollups actually round."""
    wrong = [
        (edge["x"], edge["places"], round_half_up(edge["x"], edge["places"]), edge["rounded"])
        for edge in ruby()["round_edges"]
        if not same_double(round_half_up(edge["x"], edge["places"]), edge["rounded"])
    ]
    assert wrong == []


def test_ruby_sum_gives_rubys_array_sum_to_the_last_bit() -> None:
    """400 random score lists and a few known ones (`[1.0, 1e-16, 1e16].sum # =>
    1.0e+16`): Ruby's `Array#sum` is Kahan-Babuska, which neither `sum` nor `math.fsum`
    reproduce on every list."""
    wrong = []
    for case in ruby()["sums"]:
        want = float.fromhex(case["sum_hex"])
        assert want == case["sum"]
        got = ruby_sum(case["values"])
        if not same_double(got, want):
            wrong.append((case["values"], got.hex(), case["sum_hex"]))
    assert wrong == []


def test_the_score_lists_tell_kahan_babuska_from_plain_and_exact_summation() -> None:
    """Ruby's sums differ from a plain sum on many score lists, and from `math.fsum`
    on lists with a large and a small value (`[1.0, 1e-16, 1e16]`: fsum is 1e16 + 2)."""
    cases = ruby()["sums"]
    plain = sum(1 for case in cases if sum(case["values"]) != case["sum"])
    exact = sum(1 for case in cases if math.fsum(case["values"]) != case["sum"])
    assert plain > 40
    assert exact >= 2


def test_round_half_up_gives_rubys_answers_where_float_c_counts_digits() -> None:
    """14 to 19 significant digits, the exact rational path past 14 places, numbers so
    small or large that float.c's overflow and underflow guards decide, zeros' signs."""
    wrong = [
        (edge["x"], edge["places"], round_half_up(edge["x"], edge["places"]), want)
        for edge in ruby()["round_deep_edges"]
        if not same_double(
            round_half_up(edge["x"], edge["places"]),
            want := float.fromhex(edge["rounded_hex"]),
        )
    ]
    assert wrong == []
    assert len(ruby()["round_deep_edges"]) == 69


def test_negative_places_are_refused_by_name() -> None:
    try:
        round_half_up(1.5, -1)
    except ValueError as error:
        assert str(error) == "negative places are not supported"
    else:
        raise AssertionError("round_half_up(1.5, -1) did not refuse")
