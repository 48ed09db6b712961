"""What the stream lost: deliveries per period and event type, their delays, and flags.

Every event in the log has a version row in one of the read models' version tables,
with its valid time (`event_time`) and its known time (`recorded_at`): counting those
rows by period is counting the log, by either time. Events backfilled from a Canvas
Data 2 snapshot (projections/provenance.py) were never delivered: they are counted
apart, not as deliveries. Duplicates and quarantined lines never reach the log: the
store counts them as they come (replay/store/duplicates.py) and hands them in.

The analysis is pure (`analyse`); this module's SQL only reads rows.

Flags, each with its evidence:

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

Late answers: for the end E of each period at which the store had already recorded
something, the rollups as of E and as known at E (the report one would have made at
E) against the rollups as of E known now; only the keys with a result version valid
by E and recorded after E can differ, and only those are asked.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from projections.provenance import TABLE as BACKFILLED
from projections.queries import MasteryQueries, MasteryQuestion

VERSION_TABLES = (
    "result_versions",
    "outcome_versions",
    "mastery_scale_versions",
    "calculation_method_versions",
    "outcome_group_versions",
    "outcome_link_versions",
)
_UNIX_JD = 2440587.5
_KEY_LENGTH = {"day": 10, "hour": 13}


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


def same_root_account(found: str, wanted: str) -> bool:
    """`21070000000000001` and `1` name the same root account (global = shard * 10^13 + local)."""
    if found == wanted:
        return True
    if found.isdigit() and wanted.isdigit():
        return int(found) % 10**13 == int(wanted) % 10**13
    return False


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


def _periods(first: str, last: str, by: str) -> list[str]:
    keys, (start, _) = [], period_bounds(first, by)
    step = timedelta(days=1) if by == "day" else timedelta(hours=1)
    stop = period_bounds(last, by)[0]
    while start <= stop:
        keys.append(start.strftime("%Y-%m-%d" if by == "day" else "%Y-%m-%dT%H"))
        start += step
    return keys


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
        length = _KEY_LENGTH[self.by]
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
    periods = _periods(min(tally.keys), max(tally.keys), settings.by)
    types = sorted({name for _, name in (*tally.by_event, *tally.by_recorded, *tally.duplicates)})
    rows, totals = _rows_and_totals(tally, periods, types)
    # The log ends with its last event: the periods after it are not silent, they are
    # not yet (a series that stops while others go on is flagged where it stops).
    last_event = max((period for period, _ in tally.by_event), default=periods[-1])
    flags = _flags(tally, periods, types, totals, last_event, settings)
    visible = _visible_periods(tally, periods, totals, last_event, settings)
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
        flags += _series_flags(kind, name, periods[:span], counts[:span], settings)
    flags += _late_flags(periods, tally.recorded_in, settings)
    flags.sort(key=lambda flag: (flag["period"], flag["flag"], flag["series"], flag["name"]))
    return flags


def _visible_periods(
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
    length = _KEY_LENGTH[settings.by]
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


def _series_flags(
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


def _late_flags(
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


def late_answers(
    db: sqlite_utils.Database, periods: Sequence[str], settings: GapSettings, first_recorded: str
) -> list[dict[str, Any]]:
    """For each period's end E (from the first recording on): rollups as of E that
    events recorded after E changed, and by how much."""
    queries = MasteryQueries(db)
    found = []
    for period in periods:
        end = period_bounds(period, settings.by)[1] - timedelta(microseconds=1)
        end_text = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if end_text < first_recorded:
            continue  # the store had recorded nothing yet: no report was made then
        candidates = {
            tuple(row)
            for row in db.execute(
                "SELECT root_account, user_uuid, outcome_id, context_type, context_id "
                "FROM result_versions WHERE event_time <= ? AND recorded_at > ? "
                "AND user_uuid IS NOT NULL",
                [end_text, end_text],
            )
            if settings.root_account is None or same_root_account(row[0], settings.root_account)
        }
        if not candidates:
            found.append(_late_row(period, end_text, 0, []))
            continue
        users = sorted({key[1] for key in candidates})
        then: dict[tuple[Any, ...], Any] = {}
        now: dict[tuple[Any, ...], Any] = {}
        for start in range(0, len(users), 200):
            chunk = users[start : start + 200]
            for record in queries.rollups(MasteryQuestion(users=chunk, as_of=end, known_at=end)):
                then[record.key] = record.rollup
            for record in queries.rollups(MasteryQuestion(users=chunk, as_of=end)):
                now[record.key] = record.rollup
        changes = []
        for key in candidates:
            before, after = then.get(key), now.get(key)
            if _rollup_view(before) != _rollup_view(after):
                changes.append((before, after))
        found.append(_late_row(period, end_text, len(candidates), changes))
    return found


def _rollup_view(rollup: Any) -> tuple[Any, ...] | None:
    if rollup is None or not rollup.count:
        return None
    return (rollup.score, rollup.mastery, rollup.count)


def _late_row(
    period: str, end: str, candidates: int, changes: list[tuple[Any, Any]]
) -> dict[str, Any]:
    deltas = [
        abs((after.score if after else 0.0) - (before.score if before else 0.0))
        for before, after in changes
        if (before is not None and before.score is not None)
        and (after is not None and after.score is not None)
    ]
    flips = sum(
        1
        for before, after in changes
        if (before.mastery if before else None) != (after.mastery if after else None)
    )
    appeared = sum(1 for before, _ in changes if before is None or not before.count)
    return {
        "period": period,
        "as_of": end,
        "candidates": candidates,
        "changed": len(changes),
        "appeared": appeared,
        "mastery_flipped": flips,
        "score_change_mean": round(statistics.fmean(deltas), 3) if deltas else None,
        "score_change_max": round(max(deltas), 3) if deltas else None,
    }
