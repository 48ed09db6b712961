"""The log: an eventsourcing Application holding one aggregate per Canvas entity.

Thin on purpose. The domain decides what a Canvas event does to an aggregate; this
module only knows how to persist and find aggregates, fast: events are encoded with
orjson and compressed with zstd and a shipped dictionary (replay/store/compression.py),
and existence checks for a whole batch of aggregates are one query.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application, project_aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Mapper,
    OperationalError,
    Transcoder,
)
from eventsourcing.persistence import (
    StoredEvent as StoredEvent,  # re-exported: a row of the log, as the ingest builds it
)
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic, retry

from domain.aggregates import CanvasEntity
from replay.store import log_sql
from replay.store.compression import StateCompressor

_DATETIME_FIELDS = ("timestamp", "recorded_at")

Key = tuple[UUID, int]
"""A stored event's identity: its aggregate and version."""


class OrjsonTranscoder(Transcoder):
    """JSON for our own domain events, much cheaper than the default transcoder.

    Our events hold only JSON values plus two datetimes, so no type registry is
    needed: the two datetime fields are turned back into datetimes on the way out.
    """

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        state = orjson.loads(data)
        for field in _DATETIME_FIELDS:
            value = state.get(field)
            if isinstance(value, str):
                state[field] = datetime.fromisoformat(value)
        return state


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One event of the log as stored, undecoded: what a copy moves and `verify` checks."""

    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


@dataclass(slots=True)
class Recorded:
    """What the appender must know of an aggregate to extend it: the version of its last
    event and the fingerprints of the deliveries it holds (to recognise a duplicate).
    Much smaller and cheaper than the aggregate itself, whose timeline only readers need."""

    version: int
    fingerprints: set[str]


class LogConflict(Exception):
    """Another writer stored an event at one of these (aggregate, version) keys first."""


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the connection to the log went away": reconnect, don't die."""
    import psycopg

    return (InterfaceError, OperationalError, psycopg.OperationalError, psycopg.InterfaceError)


class MasteryLog(Application[UUID]):
    """The append-only log of everything Canvas told us about outcomes."""

    name = "OutcomeMastery"
    # Events of aggregates that `existing_ids` found, until `get_entity` takes them.
    _prefetched: dict[UUID, list[StoredEvent]] = {}  # noqa: RUF012 (replaced, never mutated)

    def construct_transcoder(self) -> Transcoder:
        return OrjsonTranscoder()

    def construct_mapper(self) -> Mapper[UUID]:
        """Always the same encoding, whatever the environment: orjson, then zstd."""
        return Mapper(transcoder=self.construct_transcoder(), compressor=StateCompressor())

    def existing_ids(self, ids: Iterable[UUID]) -> set[UUID]:
        """Which of these aggregates already have events in the log."""
        wanted = list(ids)
        found: set[UUID] = set()
        recorder = self.recorder
        if not wanted:
            return found
        if isinstance(recorder, SQLiteApplicationRecorder):
            # As on PostgreSQL: the events of the aggregates found come with the answer
            # (a re-replay finds every aggregate, and loading each alone is a query).
            self._prefetched = _by_aggregate(log_sql.sqlite_events_of(recorder, wanted))
            return set(self._prefetched)
        if is_postgres(recorder):
            # The ingest loop loads every aggregate found here right away: fetch their
            # events in the same query, so that loading them costs no query at all
            # (one a batch instead of one an aggregate, ~1 ms each on PostgreSQL), and
            # a concurrent ingester has that much less time to get in between.
            self._prefetched = _by_aggregate(_postgres_events_of(recorder, wanted))
            return set(self._prefetched)
        for aggregate in wanted:  # any other recorder: one lookup each
            if self.recorder.select_events(aggregate, desc=True, limit=1):
                found.add(aggregate)
        return found

    def recorded(self, aggregate: UUID) -> Recorded:
        """An aggregate's last version and fingerprints, from its stored events (those
        `existing_ids` fetched, else read now), without building the aggregate."""
        stored = self._prefetched.pop(aggregate, None)
        if stored is None:
            stored = list(self.recorder.select_events(aggregate))
        fingerprints = {self.decode(event.state)["fingerprint"] for event in stored}
        return Recorded(max(event.originator_version for event in stored), fingerprints)

    def row_of(
        self, kind: type[CanvasEntity], aggregate: UUID, version: int, change: dict[str, Any]
    ) -> StoredEvent:
        """The stored event that recording `change` (`change_state`) as `version` of an
        aggregate of `kind` gives: the bytes the library's mapper writes for the domain
        event, made without the aggregate or the event object."""
        first = version == kind.INITIAL_VERSION
        event_class = kind.FirstChangeRecorded if first else kind.ChangeRecorded
        state = (
            {"timestamp": change["timestamp"], "originator_topic": get_topic(kind), **change}
            if first
            else change
        )
        mapper = self.mapper
        encoded = mapper.transcoder.encode(state)
        if mapper.compressor is not None:
            encoded = mapper.compressor.compress(encoded)
        return StoredEvent(aggregate, version, get_topic(event_class), encoded)

    def stored_events_of(self, aggregates: Iterable[CanvasEntity]) -> list[StoredEvent]:
        """The pending events of these aggregates, as the library's mapper stores them."""
        to_stored = self.mapper.to_stored_event
        return [
            to_stored(event) for aggregate in aggregates for event in aggregate.collect_events()
        ]

    def insert_stored(self, events: Sequence[StoredEvent]) -> None:
        """Append these stored events in one transaction; LogConflict if a key is taken
        (another writer appended to one of these aggregates first)."""
        if not events:
            return
        try:
            self.recorder.insert_events(list(events))
        except IntegrityError as error:
            raise LogConflict(str(error)) from error

    def get_entity(self, aggregate: UUID) -> CanvasEntity:
        stored = self._prefetched.pop(aggregate, None)
        if stored is not None:
            events = (self.mapper.to_domain_event(event) for event in stored)
            entity: Any = project_aggregate(None, events)
        else:
            entity = self.repository.get(aggregate)
        assert isinstance(entity, CanvasEntity)
        return entity

    def stored_versions(self, keys: Iterable[Key]) -> dict[Key, tuple[str, bytes]]:
        """(topic, state) of those of these (aggregate, version) that the log holds."""
        wanted = set(keys)
        recorder = self.recorder
        if is_postgres(recorder):
            rows: Iterable[log_sql.EventRow] = log_sql.postgres_stored_versions(
                recorder, list(wanted)
            )
        elif isinstance(recorder, SQLiteApplicationRecorder):
            rows = log_sql.sqlite_events_of(recorder, sorted({key[0] for key in wanted}))
        else:  # any other recorder: one read per aggregate
            rows = [
                (_uuid(event.originator_id), event.originator_version, event.topic, event.state)
                for aggregate in sorted({key[0] for key in wanted})
                for event in recorder.select_events(aggregate)
            ]
        found: dict[Key, tuple[str, bytes]] = {}
        for originator_id, version, topic, state in rows:
            if (originator_id, version) in wanted:
                found[originator_id, version] = (topic, state)
        return found

    def stored_rows_after(self, position: int, limit: int) -> list[StoredRow]:
        """Up to `limit` stored events after `position`, in log order, as stored."""
        return [
            StoredRow(n.id, _uuid(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in self.recorder.select_notifications(start=position + 1, limit=limit)
        ]

    def event_of(self, row: StoredRow) -> Any:
        """The domain event a stored row decodes to (raises whatever decoding raises)."""
        return self.mapper.to_domain_event(
            StoredEvent(row.originator_id, row.originator_version, row.topic, row.state)
        )

    def insert_rows(self, rows: Sequence[StoredRow]) -> None:
        """Store these events as they are, in one transaction (new positions); LogConflict
        if one of their keys is taken."""
        self.insert_stored(
            [
                StoredEvent(row.originator_id, row.originator_version, row.topic, row.state)
                for row in rows
            ]
        )

    def count_events(self) -> int:
        """How many events the log holds (not its last position: positions may have gaps)."""
        recorder = self.recorder
        if is_postgres(recorder):
            return log_sql.postgres_count(recorder)
        if isinstance(recorder, SQLiteApplicationRecorder):
            return log_sql.sqlite_count(recorder)
        raise NotImplementedError(f"counting events in a {type(recorder).__name__}")

    # The projections' port (projections.log_port.LogReader): the log read by position.

    def head(self) -> int:
        """The last position in the log (0 when it is empty)."""
        return self.recorder.max_notification_id() or 0

    def rows_after(self, position: int, limit: int) -> Sequence[tuple[int, str, bytes]]:
        """Up to `limit` (position, topic, state) rows after `position`, in order."""
        recorder = self.recorder
        if isinstance(recorder, SQLiteApplicationRecorder):
            return log_sql.sqlite_rows_after(recorder, position, limit)
        return [
            (notification.id, notification.topic, notification.state)
            for notification in recorder.select_notifications(start=position + 1, limit=limit)
        ]

    def decode(self, state: bytes) -> dict[str, Any]:
        """Stored state bytes -> the event's state as JSON values (datetimes stay text)."""
        compressor = self.mapper.compressor
        decoded: dict[str, Any] = orjson.loads(
            compressor.decompress(state) if compressor is not None else state
        )
        return decoded


def is_postgres(recorder: object) -> bool:
    """Whether this is eventsourcing's PostgreSQL recorder (or ours, derived from it),
    without importing psycopg for a SQLite log: the module is loaded if it is in use."""
    module = sys.modules.get("eventsourcing.postgres")
    return module is not None and isinstance(recorder, module.PostgresApplicationRecorder)


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
def _postgres_events_of(recorder: Any, wanted: list[UUID]) -> list[log_sql.EventRow]:
    """Retried like the recorder's own reads (the pool replaces a dropped connection)."""
    return log_sql.postgres_events_of(recorder, wanted)


def _by_aggregate(rows: Iterable[log_sql.EventRow]) -> dict[UUID, list[StoredEvent]]:
    found: dict[UUID, list[StoredEvent]] = {}
    for originator_id, version, topic, state in rows:
        found.setdefault(originator_id, []).append(
            StoredEvent(originator_id, version, topic, state)
        )
    return found


class MasterySQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder, inserting a batch with one `executemany`.

    The library inserts event by event, to read each row's id (its notification id)
    back. Inside the write transaction no one else inserts and a rowid table without
    AUTOINCREMENT numbers new rows max + 1, so a batch's ids are the run that ends
    at `last_insert_rowid()`.
    """

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.executemany(
            self.insert_events_statement,
            [
                (_id_text(event.originator_id), event.originator_version, event.topic, event.state)
                for event in stored_events
            ],
        )
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))


def _id_text(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def sqlite_log(path: Path) -> MasteryLog:
    """The log in one SQLite file (WAL; created on first use)."""
    return MasteryLog(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            # Another replay may hold the log's write lock for a batch: wait for it, long.
            "SQLITE_LOCK_TIMEOUT": "600",
            "APPLICATION_RECORDER_TOPIC": f"{__name__}:{MasterySQLiteRecorder.__name__}",
        }
    )
