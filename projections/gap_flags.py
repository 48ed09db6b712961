"""The flags of a delivery report, each with its evidence:

- `silent`: a series (an event type, a root account, or everything) with no event in
  a period, where each of its previous `window` periods (not counting flagged ones)
  had at least `min_floor` (4), with a median of at least `min_median` (7: a steady
  Poisson count of that mean is 0 less than once in a thousand periods). Bursty series (results
  are graded in sessions, with quiet days) never have a full trailing window and
  are never flagged: only a series that is steady and then stops.
- `drop`: a steady series (median at least `drop_min_median`) falling below
  `drop_ratio` of its trailing median and below half its trailing minimum.
- Both only where the series later comes back to its trailing minimum: a gap is a
  silence between deliveries. A series that fades out at the log's end (the end of a
  term) is not flagged; neither, so far, is one that stops for good while others go on.
- `late`: events of a period recorded more than `late_after_hours` after both the
  period's end and the median recording time of that period's events (a replay of an
  old dump records a whole period at once, late but not late *within* it: no flag).
"""

from __future__ import annotations

import statistics
from typing import Any

from projections.gap_periods import GapSettings, period_bounds


def series_flags(
    kind: str, name: str, periods: list[str], counts: list[int], settings: GapSettings
) -> list[dict[str, Any]]:
    flags: list[dict[str, Any]] = []
    baseline: list[int] = []  # the trailing unflagged periods
    for period, count in zip(periods, counts, strict=True):
        window = baseline[-settings.window :]
        flagged = False
        if len(window) == settings.window and min(window) >= settings.min_floor:
            median = statistics.median(window)
            evidence = {
                "count": count,
                "trailing_median": median,
                "trailing_min": min(window),
                "window": settings.window,
            }
            if count == 0 and median >= settings.min_median:
                flags.append(_flag("silent", period, kind, name, evidence))
                flagged = True
            elif (
                count > 0
                and median >= settings.drop_min_median
                and count <= settings.drop_ratio * median
                and count < 0.5 * min(window)
            ):
                flags.append(_flag("drop", period, kind, name, evidence))
                flagged = True
        if not flagged:
            baseline.append(count)
    # A gap is a silence between deliveries: kept only where the series comes back to its
    # trailing minimum later. A series that fades out with the log (a term's end) is not.
    kept = []
    for flag in flags:
        later = counts[periods.index(flag["period"]) + 1 :]
        if any(count >= flag["evidence"]["trailing_min"] for count in later):
            kept.append(flag)
    return kept


def late_flags(
    periods: list[str], recorded_in: dict[str, list[float]], settings: GapSettings
) -> list[dict[str, Any]]:
    flags = []
    after = settings.late_after_hours * 3600.0
    for period in periods:
        recorded = recorded_in.get(period)
        if not recorded:
            continue
        end = period_bounds(period, settings.by)[1].timestamp()
        bar = max(end, statistics.median(recorded)) + after
        late = [moment - end for moment in recorded if moment > bar]
        if late:
            evidence = {
                "late_events": len(late),
                "events": len(recorded),
                "max_days_after_period": round(max(late) / 86400.0, 2),
                "late_after_hours": settings.late_after_hours,
            }
            flags.append(_flag("late", period, "all", "*", evidence))
    return flags


def _flag(flag: str, period: str, kind: str, name: str, evidence: dict[str, Any]) -> dict[str, Any]:
    return {"flag": flag, "period": period, "series": kind, "name": name, "evidence": evidence}
