"""The log: an eventsourcing Application holding one aggregate per Canvas entity.

Thin on purpose. The domain decides what a Canvas event does to an aggregate; this
module only knows how to persist and find aggregates, fast: events are encoded with
orjson and compressed with zstd and a shipped dictionary (replay/store/compression.py),
and existence checks for a whole batch of aggregates are one query.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.application import Application, project_aggregate
from eventsourcing.persistence import (
    InterfaceError,
    Mapper,
    OperationalError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry

from domain.aggregates import CanvasEntity
from replay.store.compression import StateCompressor

_DATETIME_FIELDS = ("timestamp", "recorded_at")
_IDS_PER_QUERY = 500
_PG_IDS_PER_QUERY = 5_000


class OrjsonTranscoder(Transcoder):
    """JSON for our own domain events, about 5x faster than the default transcoder.

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
            prefetched: dict[UUID, list[StoredEvent]] = {}
            table = recorder.events_table_name
            with recorder.datastore.transaction(commit=False) as cursor:
                for start in range(0, len(wanted), _IDS_PER_QUERY):
                    chunk = [aggregate.hex for aggregate in wanted[start : start + _IDS_PER_QUERY]]
                    marks = ",".join("?" * len(chunk))
                    cursor.execute(
                        f"SELECT originator_id, originator_version, topic, state FROM {table} "
                        f"WHERE originator_id IN ({marks}) ORDER BY originator_id, "
                        "originator_version",
                        chunk,
                    )
                    for originator_id, version, topic, state in cursor.fetchall():
                        key = UUID(originator_id)
                        prefetched.setdefault(key, []).append(
                            StoredEvent(key, version, topic, state)
                        )
            self._prefetched = prefetched
            return set(prefetched)
        if is_postgres(recorder):
            # The ingest loop loads every aggregate found here right away: fetch their
            # events in the same query, so that loading them costs no query at all
            # (one a batch instead of one an aggregate, ~1 ms each on PostgreSQL), and
            # a concurrent ingester has that much less time to get in between.
            self._prefetched = _postgres_stored_events(recorder, wanted)
            return set(self._prefetched)
        for aggregate in wanted:  # any other recorder: one lookup each
            if self.recorder.select_events(aggregate, desc=True, limit=1):
                found.add(aggregate)
        return found

    def record(self, aggregates: Iterable[CanvasEntity]) -> None:
        """Append the pending events of these aggregates, in one transaction.

        `Application.save()` does the same but checks every object against runtime
        protocols, which costs more than the insert itself on large batches.
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if events:
            self.events.put(events)

    def get_entity(self, aggregate: UUID) -> CanvasEntity:
        stored = self._prefetched.pop(aggregate, None)
        if stored is not None:
            events = (self.mapper.to_domain_event(event) for event in stored)
            entity: Any = project_aggregate(None, events)
        else:
            entity = self.repository.get(aggregate)
        assert isinstance(entity, CanvasEntity)
        return entity


def is_postgres(recorder: object) -> bool:
    """Whether this is eventsourcing's PostgreSQL recorder (or ours, derived from it),
    without importing psycopg for a SQLite log: the module is loaded if it is in use."""
    module = sys.modules.get("eventsourcing.postgres")
    return module is not None and isinstance(recorder, module.PostgresApplicationRecorder)


@retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
def _postgres_stored_events(recorder: Any, wanted: list[UUID]) -> dict[UUID, list[StoredEvent]]:
    """The stored events of those of `wanted` the log has, by aggregate, in version order.

    One `= ANY(array)` query per 5,000 ids, on the recorder's own connection pool;
    retried like the recorder's own reads (the pool replaces a dropped connection).
    """
    from psycopg.sql import SQL, Identifier

    statement = SQL(
        "SELECT originator_id, originator_version, topic, state FROM {} "
        "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
    ).format(Identifier(recorder.datastore.schema, recorder.events_table_name))
    found: dict[UUID, list[StoredEvent]] = {}
    with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
        for start in range(0, len(wanted), _PG_IDS_PER_QUERY):
            cursor.execute(statement, [wanted[start : start + _PG_IDS_PER_QUERY]])
            for row in cursor.fetchall():
                found.setdefault(row["originator_id"], []).append(
                    StoredEvent(
                        originator_id=row["originator_id"],
                        originator_version=row["originator_version"],
                        topic=row["topic"],
                        state=bytes(row["state"]),
                    )
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
