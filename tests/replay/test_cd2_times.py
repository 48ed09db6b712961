"""CD2 times read without parsing when written as CD2 writes them: the same text as parsed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from replay.ingest.cd2_values import parsed_time_text, time_text


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)),
    st.sampled_from([0, 1, 3, 6]),
)
def test_a_canonical_time_reads_as_parsed(moment: datetime, digits: int) -> None:
    text = moment.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    text += "Z"
    assert time_text(text) == parsed_time_text(text)


@pytest.mark.parametrize(
    "text", ["2025-02-29T10:00:00Z", "2025-13-01T10:00:00Z", "2025-01-01T24:00:00Z", "nope"]
)
def test_an_impossible_time_is_still_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time"):
        time_text(text)


def test_other_shapes_are_parsed() -> None:
    assert time_text("2024-02-29T10:00:00Z") == "2024-02-29T10:00:00.000000Z"
    assert time_text("2025-01-31 10:30:00") == "2025-01-31T10:30:00.000000Z"
    assert time_text("2025-01-05T10:00:00+02:00") == "2025-01-05T08:00:00.000000Z"
