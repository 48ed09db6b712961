"""What the stream lost: deliveries per period and event type, their delays, and flags.

Every event in the log has a version row in one of the read models' version tables,
with its valid time (`event_time`) and its known time (`recorded_at`): counting those
rows by period is counting the log, by either time. Events backfilled from a Canvas
Data 2 snapshot (projections/provenance.py) were never delivered: they are counted
apart, not as deliveries. Duplicates and quarantined lines never reach the log: the
store counts them as they come (replay/store/duplicates.py) and hands them in.

The analysis is pure (`analyse`); this module's SQL only reads rows.

Flags: projections/gap_flags.py; late answers: projections/late_answers.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from projections.gap_flags import late_flags, series_flags
from projections.gap_periods import (
    KEY_LENGTH,
    GapSettings,
    period_key,
    periods_between,
    same_root_account,
)
from projections.provenance import TABLE as BACKFILLED

VERSION_TABLES = (
    "result_versions",
    "outcome_versions",
    "mastery_scale_versions",
    "calculation_method_versions",
    "outcome_group_versions",
    "outcome_link_versions",
)
_UNIX_JD = 2440587.5


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event of the log as the report needs it (times as Unix seconds)."""

    canvas_event: str
    root_account: str
    event_time: float
    recorded_at: float
    backfilled: bool


def read_deliveries(db: sqlite_utils.Database) -> Iterator[Delivery]:
    """Every event of the log, from the version tables (one row per event)."""
    backfilled = BACKFILLED in db.table_names()
    for table in VERSION_TABLES:
        mark = f"position IN (SELECT position FROM {BACKFILLED})" if backfilled else "0"
        rows = db.execute(
            f"SELECT canvas_event, root_account, (julianday(event_time) - {_UNIX_JD}) * 86400.0, "
            f"(julianday(recorded_at) - {_UNIX_JD}) * 86400.0, {mark} FROM {table}"
        )
        for name, root, event_time, recorded_at, is_backfilled in rows:
            yield Delivery(name, root, event_time, recorded_at, bool(is_backfilled))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    index = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return ordered[index]


def _delay_stats(delays: list[float]) -> dict[str, float | None]:
    if not delays:
        return {"delay_p50_s": None, "delay_p95_s": None, "delay_max_s": None}
    delays.sort()
    return {
        "delay_p50_s": round(_quantile(delays, 0.5), 3),
        "delay_p95_s": round(_quantile(delays, 0.95), 3),
        "delay_max_s": round(delays[-1], 3),
    }


class _Tally:
    """What the report counts, by period: the log's events by event type and root account,
    their delays and recording times, backfills, duplicates, quarantined lines; and every
    period anything was seen in (the report's span)."""

    def __init__(self, by: str) -> None:
        self.by = by
        self.by_event: dict[tuple[str, str], int] = defaultdict(int)
        self.by_recorded: dict[tuple[str, str], int] = defaultdict(int)
        self.backfilled: dict[str, int] = defaultdict(int)
        self.delays: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.per_root: dict[tuple[str, str], int] = defaultdict(int)
        self.recorded_in: dict[str, list[float]] = defaultdict(list)
        self.duplicates: dict[tuple[str, str], int] = defaultdict(int)
        self.quarantined: dict[str, int] = defaultdict(int)
        self.keys: set[str] = set()
        self.first_recorded: float | None = None
        self._cache: dict[int, str] = {}

    def key_of(self, seconds: float) -> str:
        """The period of a moment, formatted once per hour seen: a log has many events
        per hour, and strftime is the costly part of counting them."""
        bucket = int(seconds // 3600)
        found = self._cache.get(bucket)
        if found is None:
            found = self._cache[bucket] = period_key(bucket * 3600.0, self.by)
        return found

    def count_deliveries(self, deliveries: Iterable[Delivery], wanted: str | None) -> None:
        """Count the log's events; backfilled ones only by recording time, as backfills
        (they were never delivered: no delay, no part of a series)."""
        for row in deliveries:
            if wanted is not None and not same_root_account(row.root_account, wanted):
                continue
            event_key, recorded_key = self.key_of(row.event_time), self.key_of(row.recorded_at)
            self.keys.update((event_key, recorded_key))
            if row.backfilled:
                self.backfilled[recorded_key] += 1
                continue
            self.first_recorded = (
                row.recorded_at
                if self.first_recorded is None
                else min(self.first_recorded, row.recorded_at)
            )
            self.by_event[event_key, row.canvas_event] += 1
            self.by_recorded[recorded_key, row.canvas_event] += 1
            self.per_root[event_key, row.root_account] += 1
            self.delays[event_key, row.canvas_event].append(row.recorded_at - row.event_time)
            self.recorded_in[event_key].append(row.recorded_at)

    def count_duplicates(self, duplicates: Iterable[dict[str, Any]], wanted: str | None) -> None:
        """Count the duplicates the store skipped, by the period they were recorded in."""
        length = KEY_LENGTH[self.by]
        for item in duplicates:
            if wanted is not None and not same_root_account(item["root_account"], wanted):
                continue
            period = item["recorded_hour"][:length]
            self.keys.add(period)
            self.duplicates[period, item["canvas_event"]] += int(item["count"])

    def count_quarantined(self, quarantined_at: Iterable[str]) -> None:
        """Count the quarantined lines by the period they were quarantined in."""
        for text in quarantined_at:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            period = period_key(moment.timestamp(), self.by)
            self.keys.add(period)
            self.quarantined[period] += 1


def analyse(
    deliveries: Iterable[Delivery],
    duplicates: Iterable[dict[str, Any]],
    quarantined_at: Iterable[str],
    settings: GapSettings,
) -> dict[str, Any]:
    """The report's document (see README, `mastery gaps`), without late answers."""
    tally = _Tally(settings.by)
    tally.count_deliveries(deliveries, settings.root_account)
    tally.count_duplicates(duplicates, settings.root_account)
    if settings.root_account is None:  # a quarantined line names no root account
        tally.count_quarantined(quarantined_at)
    if not tally.keys:
        return _document(settings, [], [], [], [], tally.first_recorded)
    periods = periods_between(min(tally.keys), max(tally.keys), settings.by)
    types = sorted({name for _, name in (*tally.by_event, *tally.by_recorded, *tally.duplicates)})
    rows, totals = _rows_and_totals(tally, periods, types)
    # The log ends with its last event: the periods after it are not silent, they are
    # not yet (a series that stops while others go on is flagged where it stops).
    last_event = max((period for period, _ in tally.by_event), default=periods[-1])
    flags = _flags(tally, periods, types, totals, last_event, settings)
    visible = _visibleperiods_between(tally, periods, totals, last_event, settings)
    keep = set(visible)
    return _document(
        settings,
        visible,
        [row for row in rows if row["period"] in keep],
        [total for total in totals if total["period"] in keep],
        [flag for flag in flags if flag["period"] in keep],
        tally.first_recorded,
    )


def _rows_and_totals(
    tally: _Tally, periods: list[str], types: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A row per period and event type with anything to show, and a total per period
    (every period: a silent one is what the report is for)."""
    rows, totals = [], []
    for period in periods:
        period_delays: list[float] = []
        for name in types:
            cell = (period, name)
            found = (
                tally.by_event.get(cell, 0),
                tally.by_recorded.get(cell, 0),
                tally.duplicates.get(cell, 0),
            )
            if not any(found):
                continue
            period_delays += tally.delays.get(cell, [])
            rows.append(
                {
                    "period": period,
                    "canvas_event": name,
                    "by_event_time": found[0],
                    "by_recorded_at": found[1],
                    "duplicates": found[2],
                    **_delay_stats(list(tally.delays.get(cell, []))),
                }
            )
        totals.append(_total(tally, period, types, period_delays))
    return rows, totals


def _total(
    tally: _Tally, period: str, types: list[str], period_delays: list[float]
) -> dict[str, Any]:
    """One period's counts over every event type, and the delays of all its events."""
    return {
        "period": period,
        "by_event_time": sum(tally.by_event.get((period, name), 0) for name in types),
        "by_recorded_at": sum(tally.by_recorded.get((period, name), 0) for name in types),
        "duplicates": sum(tally.duplicates.get((period, name), 0) for name in types),
        "quarantined": tally.quarantined.get(period, 0),
        "backfilled": tally.backfilled.get(period, 0),
        **_delay_stats(period_delays),
    }


def _flags(
    tally: _Tally,
    periods: list[str],
    types: list[str],
    totals: list[dict[str, Any]],
    last_event: str,
    settings: GapSettings,
) -> list[dict[str, Any]]:
    """Silences and drops of every series up to the last event, and late periods, in the
    report's order."""
    series: dict[tuple[str, str], list[int]] = {
        ("all", "*"): [int(total["by_event_time"] or 0) for total in totals]
    }
    for name in types:
        series["event_type", name] = [tally.by_event.get((period, name), 0) for period in periods]
    for root in sorted({root for _, root in tally.per_root}):
        series["root_account", root] = [tally.per_root.get((period, root), 0) for period in periods]
    span = periods.index(last_event) + 1
    flags = []
    for (kind, name), counts in series.items():
        flags += series_flags(kind, name, periods[:span], counts[:span], settings)
    flags += late_flags(periods, tally.recorded_in, settings)
    flags.sort(key=lambda flag: (flag["period"], flag["flag"], flag["series"], flag["name"]))
    return flags


def _visibleperiods_between(
    tally: _Tally,
    periods: list[str],
    totals: list[dict[str, Any]],
    last_event: str,
    settings: GapSettings,
) -> list[str]:
    """The periods asked for, from the first event to the last, and any with something
    recorded: periods past the last event_time with nothing recorded (a one-off replay long
    after the events) are left out; silent periods inside the span are kept."""
    first_event = min((period for period, _ in tally.by_event), default=periods[0])
    busy = {total["period"] for total in totals if any(_counts(total))}
    return [
        p
        for p in periods
        if _in_range(p, settings) and (first_event <= p <= last_event or p in busy)
    ]


def _counts(total: dict[str, Any]) -> tuple[int, ...]:
    return tuple(
        int(total[name])
        for name in ("by_event_time", "by_recorded_at", "duplicates", "quarantined", "backfilled")
    )


def _in_range(period: str, settings: GapSettings) -> bool:
    length = KEY_LENGTH[settings.by]
    if settings.since is not None and period < settings.since[:length]:
        return False
    if settings.until is None:
        return True
    until = settings.until[:length]  # a date as --until of hours means its every hour
    return period[: len(until)] <= until


def _document(
    settings: GapSettings,
    periods: list[str],
    rows: list[dict[str, Any]],
    totals: list[dict[str, Any]],
    flags: list[dict[str, Any]],
    first_recorded: float | None,
) -> dict[str, Any]:
    return {
        "by": settings.by,
        "root_account": settings.root_account,
        "periods": periods,
        "first_recorded_at": (
            None
            if first_recorded is None
            else datetime.fromtimestamp(first_recorded, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ),
        "totals": totals,
        "rows": rows,
        "flags": flags,
        "late_answers": [],
    }
