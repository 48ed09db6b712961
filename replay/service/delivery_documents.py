"""What the front doors show of a `mastery gaps` report, worked out once: a delay as
text, and the report's days with their counts and flags (the terminal's chart and the
web view's Delivery chart draw the same thing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def duration(seconds: float | None) -> str:
    """A delay as `mastery gaps` prints it: `670 d`, `2.5 h`, `12.0 s`; `-` for none."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            value = seconds / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{seconds:.1f} s"


@dataclass(frozen=True)
class DailyCounts:
    """A gaps report by day (hours added up): events by event time and by recording
    time, and the flags raised on the day."""

    days: list[str]
    counts: dict[str, tuple[int, int]]
    flags: dict[str, set[str]]
    top: int
    """The largest count of any day (at least 1): the charts' scale."""

    def mark(self, day: str) -> str:
        """`!` under a silent or dropped day, `L` under a late one, else ""."""
        marks = self.flags.get(day, set())
        if marks & {"silent", "drop"}:
            return "!"
        return "L" if "late" in marks else ""


def daily_counts(report: dict[str, Any]) -> DailyCounts:
    by_day: dict[str, list[int]] = {}
    for total in report["totals"]:
        counts = by_day.setdefault(total["period"][:10], [0, 0])
        counts[0] += total["by_event_time"]
        counts[1] += total["by_recorded_at"]
    flags: dict[str, set[str]] = {}
    for flag in report["flags"]:
        flags.setdefault(flag["period"][:10], set()).add(flag["flag"])
    top = max([max(counts) for counts in by_day.values()] + [1])
    return DailyCounts(
        days=sorted(by_day),
        counts={day: (counts[0], counts[1]) for day, counts in by_day.items()},
        flags=flags,
        top=top,
    )
