"""`mastery verify`'s checks: is the log intact, and are the read models at a valid place?

The log is the one thing that cannot be recreated, so it must be possible to check it
without trusting any read model: every stored event is decoded through the log's own
mapper (as loading an aggregate would), versions must run 1, 2, 3... per aggregate
(a gap means a lost event, which no replay can notice), and every event must name
its Canvas entity (the projections need `canvas_id` and `root_account`). The read
models are then compared with the log: behind is normal (the next command catches
up) and only reported; ahead means they were made from another or a longer log,
and only `mastery rebuild` can make them right.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.catchup import TRACKING_NAME
from projections.schema import READ_MODEL_FORMAT, other_format_problem
from projections.unprojectable import TABLE, unprojectable_events
from replay.store.location import Store
from replay.store.log import MasteryLog

BATCH = 2_000
MAX_LISTED = 50  # problems listed one by one; beyond that only counted


@dataclass
class _Versions:
    """What is needed to tell whether an aggregate's versions are 1..n, in O(1) memory."""

    count: int = 0
    lowest: int = 0
    highest: int = 0


@dataclass
class VerifyReport:
    store: str
    events: int = 0
    aggregates: int = 0
    last_position: int = 0
    read_model_position: int | None = None
    read_models: str = "missing"
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    notes: list[str] = field(default_factory=list)
    unprojectable_events: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "ok": self.ok,
            "events": self.events,
            "aggregates": self.aggregates,
            "last_position": self.last_position,
            "read_models": self.read_models,
            "read_model_position": self.read_model_position,
            "problem_count": self.problem_count,
            "problems": self.problems,
            "notes": self.notes,
            "unprojectable_events": self.unprojectable_events,
        }


def verify_store(store: Store) -> VerifyReport:
    """Check the log, then the read models against it. Never writes anything."""
    report = VerifyReport(store=store.location)
    log = store.open_log()
    try:
        _verify_log(log, report)
    finally:
        log.close()
    _verify_read_models(store.read_models_path, report)
    return report


def _verify_log(log: MasteryLog, report: VerifyReport) -> None:
    versions: dict[UUID, _Versions] = {}
    previous_id = 0
    while True:
        rows = log.stored_rows_after(previous_id, BATCH)
        if not rows:
            break
        for row in rows:
            where = (
                f"log position {row.position} (aggregate {row.originator_id}, "
                f"version {row.originator_version})"
            )
            if row.position <= previous_id:
                report.problem(f"{where}: position out of order after {previous_id}")
            previous_id = row.position
            report.events += 1
            seen = versions.setdefault(
                row.originator_id,
                _Versions(lowest=row.originator_version),
            )
            seen.count += 1
            seen.lowest = min(seen.lowest, row.originator_version)
            seen.highest = max(seen.highest, row.originator_version)
            try:
                event = log.event_of(row)
            except Exception as error:  # any failure to decode is the finding itself
                report.problem(f"{where}: does not decode ({type(error).__name__}: {error})")
                continue
            missing = [
                name for name in ("canvas_id", "root_account") if not getattr(event, name, None)
            ]
            if missing:
                report.problem(f"{where}: names no entity (no {' or '.join(missing)})")
    report.last_position = previous_id
    report.aggregates = len(versions)
    for aggregate, seen in versions.items():
        if seen.lowest != 1 or seen.highest != seen.count:
            report.problem(
                f"aggregate {aggregate}: versions are not contiguous ({seen.count} events, "
                f"versions {seen.lowest} to {seen.highest}): events are missing from the log"
            )


def _verify_read_models(path: Path, report: VerifyReport) -> None:
    if not path.exists():
        report.notes.append(f"{path} does not exist: `mastery rebuild` (or any query) makes it")
        return
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            found_format = None
            if "meta" in tables:
                row = connection.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                found_format = int(row[0]) if row else None
            position = 0
            if "tracking" in tables:
                row = connection.execute(
                    "SELECT position FROM tracking WHERE name = ?", [TRACKING_NAME]
                ).fetchone()
                position = int(row[0]) if row else 0
            check = connection.execute("PRAGMA quick_check").fetchone()
            held_back = unprojectable_events(connection) if TABLE in tables else []
        finally:
            connection.close()
    except (sqlite3.DatabaseError, ValueError) as error:
        report.read_models = "damaged"
        report.problem(f"{path} is not a usable database ({error}): run `mastery rebuild`")
        return
    if check is None or check[0] != "ok":
        report.read_models = "damaged"
        report.problem(f"{path} fails SQLite's integrity check ({check}): run `mastery rebuild`")
        return
    if found_format is not None and found_format != READ_MODEL_FORMAT:
        report.read_models = "other-format"
        report.problem(other_format_problem(path, found_format))
        return
    report.read_model_position = position
    if position > report.last_position:
        report.read_models = "ahead"
        report.problem(
            f"{path} has applied the log up to position {position}, but the log ends at "
            f"{report.last_position}: they were made from another log; run `mastery rebuild`"
        )
    elif position < report.last_position:
        report.read_models = "behind"
        report.notes.append(
            f"the read models are {report.last_position - position:,} events behind the log "
            f"(position {position} of {report.last_position}): the next query or replay "
            f"catches up"
        )
    else:
        report.read_models = "level"
    report.unprojectable_events = len(held_back)
    for position, canvas_event, reason in held_back[:MAX_LISTED]:
        report.notes.append(
            f"log position {position} ({canvas_event}) is not in the read models: {reason}"
        )
