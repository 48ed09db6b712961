"""Small rules pinned by values from C99, Canvas's gradebook source and its models."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest

from domain.limits import fits_int64
from domain.rating import Rating, c_round, lmgb_cell_rating
from domain.rollup import ResultValue, moment_seconds, result_time, result_value, result_values
from domain.rollup_settings import RollupSettings, method_label, settings_from_scale
from domain.valid_time import valid_time_order


def sign(value: float) -> float:
    return math.copysign(1.0, value)


def test_c_round_keeps_the_sign_of_zero_as_c99_does() -> None:
    # C99 7.12.9.6: round(+0) is +0, round(-0.4) is -0; halves go away from zero
    assert c_round(0.0) == 0.0 and sign(c_round(0.0)) == 1.0
    assert c_round(0.4) == 0.0 and sign(c_round(0.4)) == 1.0
    assert c_round(-0.4) == 0.0 and sign(c_round(-0.4)) == -1.0
    assert (c_round(12.5), c_round(-12.5), c_round(0.5), c_round(-0.5)) == (13, -13, 1, -1)


def test_a_score_below_every_rating_takes_the_last_of_several() -> None:
    # Grid.View.masteryDetails: `idx = idx === -1 ? Grid.ratings.length - 1 : idx`
    ratings = [Rating("great", 10.0), Rating("OK", 5.0), Rating("meh", 2.0), Rating("low", 1.0)]
    assert lmgb_cell_rating(0.5, ratings, 10.0, 5.0) == Rating("low", 1.0)
    assert lmgb_cell_rating(1.5, ratings, 10.0, 5.0) == Rating("low", 1.0)
    assert lmgb_cell_rating(2.0, ratings, 10.0, 5.0) == Rating("meh", 2.0)


def test_settings_from_a_scale_keep_its_method_and_number() -> None:
    ratings = [Rating("Meets", 3.0, mastery=True), Rating("Exceeds", 4.0), Rating("No", 0.0)]
    settings = settings_from_scale(ratings, "decaying_average", 65)
    assert settings.calculation_method == "decaying_average"
    assert settings.calculation_int == 65
    assert settings.new_decaying_average is True  # the default: Canvas's new formula
    assert settings.points_possible == 4.0
    assert settings.mastery_points == 3.0
    assert [r.points for r in settings.ratings] == [4.0, 3.0, 0.0]
    assert settings_from_scale(ratings, "highest", None, False).new_decaying_average is False


def test_fits_int64_is_sqlite_s_integer_range() -> None:
    # SQLite INTEGER: 8-byte two's complement, -2**63 to 2**63 - 1
    assert fits_int64(9223372036854775807) and fits_int64(-9223372036854775808)
    assert not fits_int64(9223372036854775808)
    assert not fits_int64(-9223372036854775809)


@pytest.mark.parametrize(
    ("method", "calculation_int", "label"),
    [
        (None, None, "highest"),  # RollupScore: a nil method is highest
        ("highest", 3, "highest"),
        ("latest", None, "latest"),
        ("decaying_average", None, "decaying_average 65"),  # `@calculation_int || 65`
        ("standard_decaying_average", 80, "standard_decaying_average 80"),
        ("n_mastery", None, "n_mastery 5"),  # LearningOutcome#default_calculation_int
        ("n_mastery", 2, "n_mastery 2"),
    ],
)
def test_a_method_is_labelled_by_its_name_and_the_int_it_reads(
    method: str | None, calculation_int: int | None, label: str
) -> None:
    assert method_label(method, calculation_int) == label


def test_a_create_sorts_before_an_update_of_the_same_instant() -> None:
    at = "2024-05-01T10:00:00.000Z"
    assert valid_time_order(at, "learning_outcome_created", "b") == (at, 0, "b")
    assert valid_time_order(at, "learning_outcome_updated", "a") == (at, 1, "a")
    keys = [
        valid_time_order(at, "learning_outcome_updated", "a"),
        valid_time_order(at, "learning_outcome_created", "z"),
        valid_time_order("2024-05-01T09:59:59.999Z", "learning_outcome_updated", "c"),
    ]
    assert [key[2] for key in sorted(keys)] == ["c", "z", "a"]


def test_without_a_scale_a_result_without_percent_feeds_its_raw_score() -> None:
    # `return result.score unless result.try(:percent)`; 0.0 is true in Ruby
    rows = [("1", 3.0, None), ("2", 3.0, 0.5), ("3", 2.0, 0.0)]
    assert result_values(rows, None) == [3.0, None, None]
    assert result_values(rows, 4.0) == [3.0, 2.0, 0.0]


class NoOffset(tzinfo):
    """A tzinfo that knows no offset: Python treats such a datetime as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_moment_seconds_is_ruby_s_time_to_i() -> None:
    # 2024-01-01T00:00:00Z is 1704067200 s after the epoch (19723 days * 86400)
    assert moment_seconds(datetime(2024, 1, 1, tzinfo=UTC)) == 1704067200
    assert moment_seconds(datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == (
        1704067200
    )
    assert moment_seconds(datetime(2024, 1, 1)) == 1704067200  # naive: UTC
    assert moment_seconds(datetime(2024, 1, 1, tzinfo=NoOffset())) == 1704067200
    # Time#to_i floors: half a second before the epoch is -1
    assert moment_seconds(datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)) == -1
    assert moment_seconds(None) == 0  # nil.to_i


def test_result_time_is_submitted_at_or_else_assessed_at() -> None:
    assessed = datetime(2024, 1, 1, tzinfo=UTC)
    submitted = datetime(2024, 1, 1, 0, 0, 10, tzinfo=UTC)
    plain = ResultValue("1", 1.0, None, None, assessed)
    assert result_time(plain) == 1704067200
    assert result_time(ResultValue("1", 1.0, None, None, assessed, submitted_at=submitted)) == (
        1704067210
    )
    assert result_time(ResultValue("1", 1.0, None, None, None, submitted_at=submitted)) == (
        1704067210
    )
    assert result_time(ResultValue("1", 1.0, None, None, None)) == 0


def test_a_percent_scales_to_points_possible_of_one() -> None:
    # `points_possible > 0 ? points_possible : mastery_points`: 1 point is > 0
    settings = RollupSettings("highest", None, 1.0, 0.6)
    assert result_value(ResultValue("1", 0.2, 0.5, 1.0, None), settings) == 0.5
    no_points = RollupSettings("highest", None, 0.0, 0.6)
    assert result_value(ResultValue("1", 0.2, 0.5, 1.0, None), no_points) == 0.3
