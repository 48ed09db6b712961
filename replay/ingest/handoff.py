"""Events on their way from the parsing worker to the appender, and what crosses the pipe.

The appender is the busiest process of a large replay (it alone writes the log), so the
worker does ahead of time what the appender would otherwise do for each event without
needing to: the aggregate id (`domain.aggregates.aggregate_key_bytes`: the same uuid5
rule as `aggregate_key`, which the in-process path calls), and the JSON of the body and
the metadata, which the appender never reads but stores. It gets them as orjson
Fragments, which encoding the stored state (`MasteryLog.row_of`) splices in as they
are: each body is parsed once and encoded once, both in the worker. The event time
crosses as the text orjson makes of it, which is what encoding the datetime would
store. The stored bytes stay the same (tests/replay/test_log_rows.py replays through
the worker too).

Pipe format of a batch's events: a JSON array of the scalar fields (orjson), the
aggregate ids as one run of 16-byte ids, and the encoded bodies and metadata, two an
event, as a list of bytes (pickled with the rest of the message).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import orjson

from domain.aggregates import aggregate_key_bytes
from domain.events import CanvasEvent, EntityKind

_KINDS = {kind.value: kind for kind in EntityKind}


@dataclass(slots=True)
class ShippedEvent:
    """A CanvasEvent as the worker hands it over: `event_time` as its JSON text, `body` and
    `metadata` as encoded JSON (orjson Fragments), and its aggregate's id. Enough to
    decide and store it; `judged()` gives back the CanvasEvent, for code that reads it.

    Not frozen: one is made per event in the appender, and a frozen dataclass's
    `__init__` sets each of the ten fields through `object.__setattr__`, ~5x the cost
    (~3 us against ~0.6 us on the 2-core machine of the README's figures)."""

    name: str
    kind: EntityKind
    entity_id: str
    root_account: str
    event_time: str
    body_json: bytes
    metadata_json: bytes
    fingerprint: str
    legacy: bool
    key: UUID

    @property
    def body(self) -> orjson.Fragment:
        return orjson.Fragment(self.body_json)

    @property
    def metadata(self) -> orjson.Fragment:
        return orjson.Fragment(self.metadata_json)

    def judged(self) -> CanvasEvent:
        """The event as the worker judged it (the library's path folds it into aggregates)."""
        return CanvasEvent(
            name=self.name,
            kind=self.kind,
            entity_id=self.entity_id,
            root_account=self.root_account,
            event_time=datetime.fromisoformat(self.event_time),
            body=orjson.loads(self.body_json),
            metadata=orjson.loads(self.metadata_json),
            fingerprint=self.fingerprint,
            legacy=self.legacy,
        )


Encoded = tuple[bytes, bytes, list[bytes]]
"""(scalar fields as JSON, aggregate ids, encoded bodies and metadata): see the module."""


def encode_events(judged: Sequence[CanvasEvent]) -> Encoded:
    """In the worker: a batch's events, for `decode_events` in the appender."""
    dumps = orjson.dumps
    fields = dumps(
        [
            (
                e.name,
                e.kind.value,
                e.entity_id,
                e.root_account,
                e.event_time,
                e.fingerprint,
                e.legacy,
            )
            for e in judged
        ]
    )
    keys = b"".join(aggregate_key_bytes(e) for e in judged)
    documents = [document for e in judged for document in (dumps(e.body), dumps(e.metadata))]
    return fields, keys, documents


def decode_events(encoded: Encoded) -> list[ShippedEvent]:
    """In the appender: the events `encode_events` shipped, without parsing their bodies."""
    fields, keys, documents = encoded
    return [
        ShippedEvent(
            name,
            _KINDS[kind],
            entity_id,
            root_account,
            event_time,
            documents[2 * i],
            documents[2 * i + 1],
            fingerprint,
            legacy,
            UUID(bytes=keys[16 * i : 16 * i + 16]),
        )
        for i, (name, kind, entity_id, root_account, event_time, fingerprint, legacy) in enumerate(
            orjson.loads(fields)
        )
    ]


def as_judged(events: Sequence[CanvasEvent | ShippedEvent]) -> list[CanvasEvent]:
    """These events as CanvasEvents, whichever way they came."""
    return [e.judged() if isinstance(e, ShippedEvent) else e for e in events]
