"""The values of a Canvas Data 2 row, typed as the read models hold them.

CSV snapshots carry every value as text (an empty cell, or NULL, for null), JSON ones
carry typed values: both end up alike here, so that a comparison or a backfill never
depends on the format the snapshot was downloaded in. Ids are numbers in CD2; a global
id (shard * 10^13 + local) is read as its local id, as the log keeps ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from domain.ids import SHARD_FACTOR

_FLOATS = ("score", "possible", "percent", "original_score", "original_possible", "points")
_BOOLS = ("mastery", "original_mastery", "hide_points", "hidden")
_INTS = ("attempt", "calculation_int")
_IDS = (
    "root_account_id",
    "context_id",
    "learning_outcome_id",
    "associated_asset_id",
    "artifact_id",
    "user_id",
    "learning_outcome_group_id",
    "account_id",
    "outcome_proficiency_id",
)
_TIMES = ("assessed_at", "submitted_at", "created_at", "updated_at")
_Converter = Callable[[str, Any], Any]
"""Column name and non-empty value to the value typed (the name is for messages)."""


def local_id(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(f"id {value!r} is not a number")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"id {value!r} is not a number") from None
    return str(number % SHARD_FACTOR) if number >= SHARD_FACTOR else str(number)


def typed_values(values: dict[str, Any]) -> dict[str, Any]:
    """The row's values as the read models hold them. CSV snapshots carry every value as
    text (an empty cell for null), JSON ones carry typed values: both end up alike."""
    typed = dict(values)
    _convert(typed, _FLOATS, _as_float)
    _convert(typed, _INTS, _as_int)
    _convert(typed, _BOOLS, _as_bool)
    _convert(typed, _IDS, _as_id)
    _convert(typed, _TIMES, _as_time)
    return typed


def _convert(typed: dict[str, Any], columns: Iterable[str], convert: _Converter) -> None:
    """Convert these columns in place: an empty cell is a null, a null stays one, and an
    absent column stays absent. A value that cannot be converted raises ValueError."""
    for column in columns:
        value = typed.get(column)
        if value is not None and value != "":
            typed[column] = convert(column, value)
        elif value == "":
            typed[column] = None


def _as_float(column: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r} is not a number") from None


def _as_int(column: str, value: Any) -> int:
    """An integer, also from a float's text ("2.0": CSV exports write attempts so)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"{column} {value!r} is not a number") from None


def _as_bool(column: str, value: Any) -> Any:
    """A boolean from CSV's spellings of one; a JSON value is kept as it came."""
    if not isinstance(value, str):
        return value
    lowered = value.lower()
    if lowered in ("true", "t", "1"):
        return True
    if lowered in ("false", "f", "0"):
        return False
    raise ValueError(f"{column} {value!r} is not true or false")


def _as_id(column: str, value: Any) -> str:
    """A local id (a global id's shard is dropped), as the log keeps ids."""
    return local_id(value)


def _as_time(column: str, value: Any) -> str:
    return time_text(str(value))


def time_text(value: str) -> str:
    """Fixed-width UTC text, as the read models keep times; a time without zone is UTC."""
    if _CANONICAL_TIME.fullmatch(value):  # as CD2 writes them: no parse (4 a row, 1M rows)
        return f"{value[:19]}.{value[20:-1].ljust(6, '0')}Z"
    return parsed_time_text(value)


_CANONICAL_TIME = re.compile(
    r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?Z"
)
"""A UTC time that is valid whatever its month and year (days 29-31 go the long way)."""


def parsed_time_text(value: str) -> str:
    """`time_text` by parsing, for every time the pattern above does not take."""
    text = value.strip().replace(" ", "T")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
