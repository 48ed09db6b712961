"""Copying a log between stores (a directory to PostgreSQL, typically) without loss.

The stored events are moved as they are: originator id, version, topic and the
encoded state, byte for byte, in the source's log order, in large batches, through
the target recorder's own `insert_events` (so PostgreSQL's insert lock and NOTIFY
apply: followers see the copy arrive). Nothing is decoded or re-decided.

Idempotent: when the target already holds events (a copy interrupted and run again,
or another copy of the same log), each batch's events are looked up there first;
one that is there with the same topic and state is skipped, one that is there with
a different state is a conflict: counted, reported, never overwritten.

The quarantine comes along too (it is keyed by content, so rows already there are
kept once). The read models do not: the target's positions differ, and `mastery
follow --once` or the first query builds them from the copied log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from replay.store.location import Store
from replay.store.log import LogConflict, MasteryLog, StoredRow
from replay.store.quarantine import Quarantine

DEFAULT_COPY_BATCH = 10_000
_INTEGRITY_RETRIES = 3


@dataclass
class CopyReport:
    source: str
    target: str
    source_events: int = 0
    copied: int = 0
    already_there: int = 0
    conflicts: int = 0
    target_events: int = 0
    quarantine_lines: int = 0
    elapsed_seconds: float = 0.0
    conflict_examples: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every source event is in the target, unchanged."""
        return self.conflicts == 0 and self.copied + self.already_there == self.source_events

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "complete": self.complete}


def copy_log(
    source: Store,
    target: Store,
    *,
    batch_size: int = DEFAULT_COPY_BATCH,
    on_progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy every stored event of `source`'s log into `target`'s; counts checked at the end.

    `on_progress(position, last_position)` is called after each batch.
    """
    report = CopyReport(source=source.location, target=target.location)
    started = perf_counter()
    source_log, target_log = source.open_log(), target.open_log()
    try:
        last = source_log.head()
        check = bool(target_log.head())
        position, retries = 0, 0
        while True:
            rows = source_log.stored_rows_after(position, batch_size)
            if not rows:
                break
            try:
                _copy_batch(target_log, rows, report, check=check)
            except LogConflict:
                # Someone else wrote one of these events meanwhile: look before writing.
                retries += 1
                if retries > _INTEGRITY_RETRIES:
                    raise
                check = True
                continue
            retries = 0
            position = rows[-1].position
            if on_progress is not None:
                on_progress(position, last)
        report.source_events = source_log.count_events()
        report.target_events = target_log.count_events()
    finally:
        source_log.close()
        target_log.close()
    report.quarantine_lines = _copy_quarantine(source, target)
    report.elapsed_seconds = round(perf_counter() - started, 3)
    return report


def _copy_batch(
    target: MasteryLog, rows: list[StoredRow], report: CopyReport, *, check: bool
) -> None:
    """Insert the events the target lacks, in one transaction; count the rest."""
    missing = rows
    if check:
        present = target.stored_versions(
            (row.originator_id, row.originator_version) for row in rows
        )
        missing = []
        for row in rows:
            found = present.get((row.originator_id, row.originator_version))
            if found is None:
                missing.append(row)
            elif found == (row.topic, row.state):
                report.already_there += 1
            else:
                report.conflicts += 1
                if len(report.conflict_examples) < 5:
                    report.conflict_examples.append(
                        f"{row.originator_id} v{row.originator_version}"
                    )
    if missing:
        target.insert_rows(missing)
    report.copied += len(missing)


def _copy_quarantine(source: Store, target: Store) -> int:
    """Add the source's quarantined lines to the target's; returns how many were new."""
    if not source.quarantine_path.exists() or source.quarantine_path == target.quarantine_path:
        return 0
    quarantine = Quarantine(target.quarantine_path)
    try:
        return quarantine.add_all_from(source.quarantine_path)
    finally:
        quarantine.close()
