"""`mastery gaps`: the delivery-gap report, from the read models and the store's own counts."""

from __future__ import annotations

from typing import Any

from projections.gap_periods import GapSettings
from projections.gaps import analyse, read_deliveries
from projections.late_answers import late_answers
from replay.jobs.pipeline import open_read_side
from replay.store.duplicates import read_counts, read_quarantine_times
from replay.store.location import Store


def gap_report(store: Store, settings: GapSettings) -> dict[str, Any]:
    """The report's document: totals and rows per period, flags, late answers."""
    db = open_read_side(store)
    try:
        report = analyse(
            read_deliveries(db),
            read_counts(store.quarantine_path),
            read_quarantine_times(store.quarantine_path),
            settings,
        )
        first = report["first_recorded_at"]
        if settings.late_answers and first is not None:
            report["late_answers"] = late_answers(db, report["periods"], settings, first)
        return report
    finally:
        db.close()
