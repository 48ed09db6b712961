"""Replay: decoded inputs in, deduplicated domain events appended to the log.

The loop a replay spends its life in, so it is built for throughput: events are
validated once, grouped in batches of thousands, and each batch is one transaction.
Aggregates stay in a bounded LRU cache between batches; those not in the cache are
looked up for a whole batch in one query, and only loaded when the log really has
them. Memory stays bounded however large the dump.

Exactly once: a delivery's fingerprint is part of its aggregate's state, so a
duplicate is recognised by the aggregate itself, in this run or any later one. A
replay killed mid-batch loses that batch's transaction and nothing else; running it
again records what is missing and skips what is there.
"""

from __future__ import annotations

import random
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.aggregates import AGGREGATE_CLASSES, CanvasEntity
from domain.events import CanvasEvent
from replay.ingest.parsing import ParsedBatch, StrictModeStop, parse_records
from replay.store.log import MasteryLog

__all__ = ["Ingestor", "ReplaySummary", "StrictModeStop"]
from replay.ingest.sources import RawRecord
from replay.store.quarantine import Quarantine

Clock = Callable[[], datetime]

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
        self._cache: OrderedDict[UUID, CanvasEntity] = OrderedDict()

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
                self._append(batch.events, summary)
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
        self._cache.clear()

    def _append(
        self,
        batch: list[CanvasEvent],
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
            touched = self._apply(batch, outcome, verdicts)
            try:
                self.log.record(touched)
            except IntegrityError:
                # Another process appended to one of these aggregates: forget our
                # copies, reload them from the log and decide again.
                for aggregate in touched:
                    self._cache.pop(aggregate.id, None)
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
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _apply(
        self,
        batch: list[CanvasEvent],
        outcome: Counter[str],
        verdicts: list[bool] | None = None,
    ) -> list[CanvasEntity]:
        recorded_at = self._recorded_at = self.clock()
        self._batch_duplicates = Counter[tuple[str, str]]()
        keys = [
            AGGREGATE_CLASSES[event.kind].id_for(event.root_account, event.entity_id)
            for event in batch
        ]
        self._load_missing(keys)
        touched: dict[UUID, CanvasEntity] = {}
        cache = self._cache
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
                outcome["duplicates"] += 1
                if verdicts is not None:
                    verdicts.append(False)
                self._batch_duplicates[event.name, event.root_account] += 1
                continue
            if verdicts is not None:
                verdicts.append(True)
            outcome["appended"] += 1
            outcome["type:" + event.name] += 1
            if event.legacy:
                outcome["legacy"] += 1
            touched[key] = aggregate
        return list(touched.values())

    def _load_missing(self, keys: list[UUID]) -> None:
        """Bring into the cache the aggregates of this batch that the log already has."""
        cache = self._cache
        missing = {key for key in keys if key not in cache}
        for key in self.log.existing_ids(missing):
            self._cache[key] = self.log.get_entity(key)
