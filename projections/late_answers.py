"""Late answers: how often a report made at the end of a period was wrong, and by how much.

For the end E of each period at which the store had already recorded something, the
rollups as of E and as known at E (the report one would have made at E) against the
rollups as of E known now; only the keys with a result version valid by E and recorded
after E can differ, and only those are asked.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlite_utils

from projections.gap_periods import GapSettings, period_bounds, same_root_account
from projections.queries import MasteryQueries, MasteryQuestion


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
