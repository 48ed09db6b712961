"""Replay: decoded inputs in, deduplicated domain events appended to the log.

The loop a replay spends its life in, so it is built for throughput: events are
validated once, grouped in batches of thousands, and each batch is one transaction.
Writing needs of an aggregate only its last version and its deliveries' fingerprints
(`Recorded`), not its timeline, so that is what a bounded LRU cache keeps between
batches; those not in the cache are looked up for a whole batch in one query, and only
loaded when the log really has them. Memory stays bounded however large the dump.

Exactly once: a delivery's fingerprint is part of its aggregate's state, so a
duplicate is recognised from the aggregate's stored events, in this run or any later one. A
replay killed mid-batch loses that batch's transaction and nothing else; running it
again records what is missing and skips what is there.
"""

from __future__ import annotations

import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any, TypeVar
from uuid import UUID

from domain.aggregates import AGGREGATE_CLASSES, CanvasEntity, aggregate_key, change_state
from domain.events import CanvasEvent
from replay.ingest.handoff import ShippedEvent, as_judged
from replay.ingest.parsing import ParsedBatch, StrictModeStop, parse_records
from replay.store.log import LogConflict, MasteryLog, Recorded, StoredEvent

__all__ = ["Ingestor", "ReplaySummary", "StrictModeStop"]
from replay.ingest.sources import RawRecord
from replay.store.quarantine import Quarantine

Clock = Callable[[], datetime]
Cached = TypeVar("Cached", Recorded, CanvasEntity)
Judged = CanvasEvent | ShippedEvent
"""An event judged in this process, or in the parsing worker (replay/ingest/handoff.py)."""

ROWS_WITHOUT_AGGREGATES = True
"""The appender builds each stored event's row itself, keeping per aggregate only its
last version and fingerprints (`replay.store.log.Recorded`). False: it folds every
event into the library's aggregate and domain event objects, which the mapper then
encodes; the rows are byte for byte the same (a test compares both), for more CPU
and memory (README, Performance): kept for that comparison."""

DEFAULT_BATCH_SIZE = 2_000
DEFAULT_CACHE_SIZE = 20_000
SAVE_ATTEMPTS = 50
"""Each conflict means another writer made progress, so retrying cannot loop forever;
several ingesters sharing busy aggregates (outcomes, groups) may conflict many times."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReplaySummary:
    """What a replay did, for people (a table) and scripts (JSON)."""

    read: int = 0
    appended: int = 0
    duplicates: int = 0
    not_learning: int = 0
    legacy: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    appended_by_type: Counter[str] = field(default_factory=Counter)
    elapsed_seconds: float = 0.0  # the whole replay: reading, appending, projecting
    append_seconds: float = 0.0  # reading and appending
    bytes_read: int = 0
    resolved: int = 0
    """Quarantine entries resolved: their lines were read whole this time."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, why): what the directories named held that was not read."""

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def events_per_second(self) -> float:
        return self.read / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "appended": self.appended,
            "duplicates": self.duplicates,
            "not_learning": self.not_learning,
            "legacy": self.legacy,
            "quarantined": self.quarantined_total,
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "quarantine_resolved": self.resolved,
            "appended_by_type": dict(sorted(self.appended_by_type.items())),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "append_seconds": round(self.append_seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "skipped": [{"path": path, "reason": reason} for path, reason in self.skipped],
        }


class Ingestor:
    """Turns a stream of decoded inputs into appended domain events."""

    def __init__(
        self,
        log: MasteryLog,
        quarantine: Quarantine,
        *,
        keep_request_metadata: bool = False,
        strict: bool = False,
        clock: Clock = utc_now,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.log = log
        self.quarantine = quarantine
        self.keep_request_metadata = keep_request_metadata
        self.strict = strict
        self.clock = clock
        self.batch_size = batch_size
        self.cache_size = cache_size
        self.rows_without_aggregates = ROWS_WITHOUT_AGGREGATES
        # Bounded LRU caches, by aggregate id; only the one of the path in use fills.
        self._records: OrderedDict[UUID, Recorded] = OrderedDict()
        self._aggregates: OrderedDict[UUID, CanvasEntity] = OrderedDict()

    def ingest(
        self,
        records: Iterable[RawRecord],
        *,
        on_batch: Callable[[ReplaySummary], None] | None = None,
    ) -> ReplaySummary:
        """Judge and append records, in this process."""
        batches = parse_records(
            records,
            batch_size=self.batch_size,
            keep_request_metadata=self.keep_request_metadata,
            strict=self.strict,
            clock=self.clock,
        )
        return self.ingest_batches(batches, on_batch=on_batch)

    def ingest_batches(
        self,
        batches: Iterable[ParsedBatch],
        *,
        on_batch: Callable[[ReplaySummary], None] | None = None,
    ) -> ReplaySummary:
        """Append batches judged here or in a worker process (replay.ingest.parsing)."""
        summary = ReplaySummary()
        started = perf_counter()
        try:
            for batch in batches:
                summary.read += batch.read
                summary.not_learning += batch.not_learning
                for location, raw, rejection in batch.refused:
                    summary.quarantined[rejection.reason] += 1
                    self.quarantine.add(location, raw, rejection)
                for location, raw in batch.resolved:
                    self.quarantine.resolve(location, raw)
                self._append(batch.shipped or batch.events, summary)
                summary.bytes_read = batch.bytes_read
                if on_batch is not None:
                    on_batch(summary)
        finally:
            self.quarantine.flush()
            summary.resolved = self.quarantine.resolved
            summary.elapsed_seconds = perf_counter() - started
        return summary

    def append(self, batch: list[CanvasEvent], summary: ReplaySummary) -> list[bool]:
        """Record judged events in one transaction (with what the quarantine holds);
        for each event, whether it was appended (False: a duplicate). The live intake
        (replay/service/intake.py) answers each sender from this."""
        verdicts: list[bool] = []
        summary.read += len(batch)
        self._append(batch, summary, verdicts)
        return verdicts

    def forget(self) -> None:
        """Drop every cached aggregate: after a failed transaction they may hold
        events that were never stored; the next batch reloads them from the log."""
        self._records.clear()
        self._aggregates.clear()

    def _append(
        self,
        batch: Sequence[Judged],
        summary: ReplaySummary,
        verdicts: list[bool] | None = None,
    ) -> None:
        """Record a batch in one transaction; retried if another writer got there first."""
        if not batch:
            self.quarantine.flush()
            return
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            outcome = Counter[str]()
            if verdicts is not None:
                verdicts.clear()
            apply = self._apply_rows if self.rows_without_aggregates else self._apply
            touched, rows = apply(batch, outcome, verdicts)
            try:
                self.log.insert_stored(rows)
            except LogConflict:
                # Another process appended to one of these aggregates: forget our
                # copies, reload them from the log and decide again.
                for key in touched:
                    self._records.pop(key, None)
                    self._aggregates.pop(key, None)
                if attempt == SAVE_ATTEMPTS:
                    raise
                # Jittered backoff, so that writers racing for the same aggregates
                # stop meeting at the same moment.
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
                continue
            break
        summary.appended += outcome["appended"]
        summary.duplicates += outcome["duplicates"]
        summary.legacy += outcome["legacy"]
        for name, count in outcome.items():
            if name.startswith("type:"):
                summary.appended_by_type[name[5:]] += count
        self.quarantine.add_duplicates(self._recorded_at, self._batch_duplicates)
        self.quarantine.flush()
        for cache in (self._records, self._aggregates):
            while len(cache) > self.cache_size:
                cache.popitem(last=False)

    def _apply_rows(
        self,
        batch: Sequence[Judged],
        outcome: Counter[str],
        verdicts: list[bool] | None = None,
    ) -> tuple[set[UUID], list[StoredEvent]]:
        """Decide each event (new, or a duplicate) from the aggregates' compact records
        and build the rows to store; returns the keys touched and the rows."""
        recorded_at = self._start_batch()
        keys = self._keys_of(batch)
        cache, row_of = self._records, self.log.row_of
        self._load_missing(keys, cache, self.log.recorded)
        # Rows grouped by aggregate, in the order aggregates are first touched: the order
        # the library stores a transaction's events in (and so their positions).
        rows: dict[UUID, list[StoredEvent]] = {}
        for event, key in zip(batch, keys, strict=True):
            known = cache.get(key)
            if known is None:
                known = cache[key] = Recorded(0, set())
            elif event.fingerprint in known.fingerprints:
                self._count(event, outcome, verdicts, appended=False)
                continue
            else:
                cache.move_to_end(key)
            known.version += 1
            known.fingerprints.add(event.fingerprint)
            kind = AGGREGATE_CLASSES[event.kind]
            row = row_of(kind, key, known.version, change_state(event, recorded_at))
            rows.setdefault(key, []).append(row)
            self._count(event, outcome, verdicts, appended=True)
        return set(rows), [row for of_one in rows.values() for row in of_one]

    def _start_batch(self) -> datetime:
        self._recorded_at = self.clock()
        self._batch_duplicates = Counter[tuple[str, str]]()
        return self._recorded_at

    @staticmethod
    def _keys_of(batch: Sequence[Judged]) -> list[UUID]:
        """Each event's aggregate id: the worker computed those of the events it judged."""
        return [
            event.key if isinstance(event, ShippedEvent) else aggregate_key(event)
            for event in batch
        ]

    def _count(
        self,
        event: Judged,
        outcome: Counter[str],
        verdicts: list[bool] | None,
        *,
        appended: bool,
    ) -> None:
        if verdicts is not None:
            verdicts.append(appended)
        if not appended:
            outcome["duplicates"] += 1
            self._batch_duplicates[event.name, event.root_account] += 1
            return
        outcome["appended"] += 1
        outcome["type:" + event.name] += 1
        if event.legacy:
            outcome["legacy"] += 1

    def _apply(
        self,
        events: Sequence[Judged],
        outcome: Counter[str],
        verdicts: list[bool] | None = None,
    ) -> tuple[set[UUID], list[StoredEvent]]:
        """The library's way: fold each event into its aggregate, then map the pending
        domain events to rows (kept to check that `_apply_rows` writes the same)."""
        recorded_at = self._start_batch()
        keys = self._keys_of(events)
        batch = as_judged(events)  # aggregates keep bodies as dicts, not as encoded JSON
        cache = self._aggregates
        self._load_missing(keys, cache, self.log.get_entity)
        touched: dict[UUID, CanvasEntity] = {}
        for event, key in zip(batch, keys, strict=True):
            aggregate = cache.get(key)
            if aggregate is None:
                aggregate = AGGREGATE_CLASSES[event.kind].first_seen(
                    event, recorded_at, known_id=key
                )
                cache[key] = aggregate
            elif aggregate.record(event, recorded_at):
                cache.move_to_end(key)
            else:
                self._count(event, outcome, verdicts, appended=False)
                continue
            self._count(event, outcome, verdicts, appended=True)
            touched[key] = aggregate
        return set(touched), self.log.stored_events_of(touched.values())

    def _load_missing(
        self, keys: list[UUID], cache: OrderedDict[UUID, Cached], load: Callable[[UUID], Cached]
    ) -> None:
        """Bring into the cache what the log already has of this batch's aggregates."""
        missing = {key for key in keys if key not in cache}
        for key in self.log.existing_ids(missing):
            cache[key] = load(key)
