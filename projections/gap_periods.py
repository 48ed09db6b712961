"""Periods of a delivery report (days or hours, UTC), its settings, and root accounts
named either way (global or local id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.ids import same_local_id

KEY_LENGTH = {"day": 10, "hour": 13}
"""A period key's length: `2025-03-01` or `2025-03-01T14`."""


@dataclass(frozen=True)
class GapSettings:
    by: str = "day"
    since: str | None = None  # a period key or a longer time text: periods from it
    until: str | None = None  # periods up to it, inclusive
    root_account: str | None = None
    window: int = 7
    min_median: float = 7.0  # a Poisson count with this mean is 0 less than once in 1,000
    min_floor: int = 4  # and none of the trailing periods below this
    drop_ratio: float = 0.2
    drop_min_median: float = 20.0
    late_after_hours: float = 24.0
    late_answers: bool = True


def same_root_account(found: str, wanted: str) -> bool:
    """A root account asked for in either form (`domain.ids.same_local_id`)."""
    return same_local_id(found, wanted)


def period_key(seconds: float, by: str) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%dT%H")


def period_bounds(key: str, by: str) -> tuple[datetime, datetime]:
    """[start, end) of a period."""
    if by == "day":
        start = datetime.fromisoformat(key).replace(tzinfo=UTC)
        return start, start + timedelta(days=1)
    start = datetime.fromisoformat(key + ":00:00").replace(tzinfo=UTC)
    return start, start + timedelta(hours=1)


def periods_between(first: str, last: str, by: str) -> list[str]:
    keys, (start, _) = [], period_bounds(first, by)
    step = timedelta(days=1) if by == "day" else timedelta(hours=1)
    stop = period_bounds(last, by)[0]
    while start <= stop:
        keys.append(start.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%dT%H"))
        start += step
    return keys
