"""Aggregates: one per Canvas entity, each remembering every change Canvas reported.

Canvas keeps only the current state and its events arrive out of order, so an
aggregate does not hold "the state" but a timeline: every reported change, ordered
by Canvas's `event_time` (valid time), each stamped with the moment this store
recorded it (known time). The state as of any instant is a lookup in that timeline,
and no arrival order can change it.

Each Canvas event becomes exactly one domain event. The first one recorded for an
entity (whatever its Canvas name: an `_updated` may well arrive before its
`_created`) is the aggregate's creation event.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain.events import CanvasEvent, EntityKind
from domain.ids import aggregate_id, aggregate_id_bytes
from domain.valid_time import valid_time_order


@dataclass(frozen=True, slots=True)
class Change:
    """One reported change of a Canvas entity, as the timeline keeps it."""

    event_time: datetime
    recorded_at: datetime
    canvas_event: str
    body: dict[str, Any]
    metadata: dict[str, Any]
    fingerprint: str
    legacy: bool

    @property
    def order(self) -> tuple[datetime, int, str]:
        """Where this change sits in the timeline (`valid_time_order`)."""
        return valid_time_order(self.event_time, self.canvas_event, self.fingerprint)

    @property
    def is_deleted(self) -> bool:
        return self.body.get("workflow_state") == "deleted"


class CanvasEntity(Aggregate):
    """What this store knows of one Canvas entity, across valid and known time."""

    kind: ClassVar[EntityKind]

    class ChangeRecorded(Aggregate.Event):
        """Canvas reported a change of the entity, and this store recorded it.

        It names its entity (root account, Canvas id) like the first event does, so
        that a reader of the log needs no lookup to know what an event is about.
        """

        canvas_id: str
        root_account: str
        canvas_event: str
        body: dict[str, Any]
        metadata: dict[str, Any]
        fingerprint: str
        recorded_at: datetime
        legacy: bool

        def apply(self, aggregate: Any) -> None:
            aggregate._fold(self)

    class FirstChangeRecorded(Aggregate.Created):
        """The first change recorded for an entity this store had never seen."""

        canvas_id: str
        root_account: str
        canvas_event: str
        body: dict[str, Any]
        metadata: dict[str, Any]
        fingerprint: str
        recorded_at: datetime
        legacy: bool

        def apply(self, aggregate: Any) -> None:
            aggregate.canvas_id = self.canvas_id
            aggregate.root_account = self.root_account
            aggregate._timeline = []
            aggregate._fingerprints = set()
            aggregate._fold(self)

        def mutate(self, aggregate: Any) -> Any:
            """The library's `Created.mutate`, without inspecting signatures per event.

            The library matches the event's fields against `__init__`'s parameters
            each time; ours take none (the state comes from `apply`), so the matching,
            a large share of recording a new entity, is left out.
            """
            assert aggregate is None
            entity_class = resolve_topic(self.originator_topic)
            entity = entity_class.__new__(entity_class)
            entity.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            entity.__init__()
            self.apply(entity)
            return entity

    if TYPE_CHECKING:  # set by FirstChangeRecorded; not dataclass fields of the aggregate
        canvas_id: str
        root_account: str
        _timeline: list[Change]
        _fingerprints: set[str]

    @classmethod
    def id_for(cls, root_account: str, canvas_id: str) -> UUID:
        return aggregate_id(root_account, cls.kind.value, canvas_id)

    @classmethod
    def id_bytes_for(cls, root_account: str, canvas_id: str) -> bytes:
        """`id_for(...).bytes`, without making the UUID (see `aggregate_id_bytes`)."""
        return aggregate_id_bytes(root_account, cls.kind.value, canvas_id)

    @classmethod
    def first_seen(
        cls, event: CanvasEvent, recorded_at: datetime, *, known_id: UUID | None = None
    ) -> CanvasEntity:
        """Start the aggregate from the first Canvas event that names the entity.

        `known_id` spares recomputing the id (a uuid5) when the caller has it.
        """
        first = cls.FirstChangeRecorded(
            originator_topic=get_topic(cls),
            originator_id=known_id or cls.id_for(event.root_account, event.entity_id),
            originator_version=cls.INITIAL_VERSION,
            timestamp=event.event_time,
            **{"canvas_id": event.entity_id, "root_account": event.root_account},
            **_change_fields(event, recorded_at),
        )
        # What `Aggregate._create` does, less its generic keyword handling: this runs
        # once for every result a replay meets.
        entity: CanvasEntity = first.mutate(None)
        entity.pending_events.append(first)
        return entity

    def record(self, event: CanvasEvent, recorded_at: datetime) -> bool:
        """Record a Canvas event; a delivery already recorded is ignored (False)."""
        if event.fingerprint in self._fingerprints:
            return False
        self.trigger_event(
            self.ChangeRecorded,
            timestamp=event.event_time,
            canvas_id=self.canvas_id,
            root_account=self.root_account,
            **_change_fields(event, recorded_at),
        )
        return True

    def has_recorded(self, fingerprint: str) -> bool:
        return fingerprint in self._fingerprints

    @property
    def timeline(self) -> tuple[Change, ...]:
        """Every recorded change, in valid-time order."""
        return tuple(self._timeline)

    @property
    def current(self) -> Change:
        """The latest change by valid time: Canvas's state as far as we know it."""
        return self._timeline[-1]

    def as_of(self, valid_time: datetime, known_at: datetime | None = None) -> Change | None:
        """The change in force at `valid_time`, counting only what was recorded by
        `known_at`; None when Canvas had not yet reported the entity then."""
        if known_at is None:
            index = bisect_right(self._timeline, valid_time, key=lambda change: change.event_time)
            return self._timeline[index - 1] if index else None
        for change in reversed(self._timeline):
            if change.event_time <= valid_time and change.recorded_at <= known_at:
                return change
        return None

    def _fold(self, event: ChangeRecorded | FirstChangeRecorded) -> None:
        change = Change(
            event_time=event.timestamp,
            recorded_at=event.recorded_at,
            canvas_event=event.canvas_event,
            body=event.body,
            metadata=event.metadata,
            fingerprint=event.fingerprint,
            legacy=event.legacy,
        )
        insort(self._timeline, change, key=lambda item: item.order)
        self._fingerprints.add(event.fingerprint)


class Reported(Protocol):
    """What a stored change is made of: a CanvasEvent, or one that a parsing worker handed
    over with its time, body and metadata already encoded as the log stores them (JSON
    text, whose encoding gives the same bytes: replay/ingest/handoff.py)."""

    @property
    def name(self) -> str: ...
    @property
    def entity_id(self) -> str: ...
    @property
    def root_account(self) -> str: ...
    @property
    def event_time(self) -> object: ...
    @property
    def body(self) -> object: ...
    @property
    def metadata(self) -> object: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def legacy(self) -> bool: ...


def change_state(event: Reported, recorded_at: datetime) -> dict[str, Any]:
    """The fields a recorded change stores, in the order its domain event holds them
    (`ChangeRecorded`; the first event adds `originator_topic` after `timestamp`): so
    that a writer may encode the stored state without building the event."""
    return {
        "timestamp": event.event_time,
        "canvas_id": event.entity_id,
        "root_account": event.root_account,
        **_change_fields(event, recorded_at),
    }


def _change_fields(event: Reported, recorded_at: datetime) -> dict[str, Any]:
    return {
        "canvas_event": event.name,
        "body": event.body,
        "metadata": event.metadata,
        "fingerprint": event.fingerprint,
        "recorded_at": recorded_at,
        "legacy": event.legacy,
    }


class Outcome(CanvasEntity):
    """A learning outcome: its rubric criterion and its own calculation method."""

    kind = EntityKind.OUTCOME


class OutcomeGroup(CanvasEntity):
    """A folder of outcomes; its parent makes the tree."""

    kind = EntityKind.OUTCOME_GROUP


class Link(CanvasEntity):
    """An outcome placed in a group of a context (what a course's gradebook shows)."""

    kind = EntityKind.LINK


class Result(CanvasEntity):
    """One student's result on one outcome for one alignment (versions by regrade)."""

    kind = EntityKind.RESULT


class Proficiency(CanvasEntity):
    """A mastery scale set on an account or a course."""

    kind = EntityKind.PROFICIENCY


class CalculationMethod(CanvasEntity):
    """A calculation method set on an account or a course."""

    kind = EntityKind.CALCULATION_METHOD


AGGREGATE_CLASSES: dict[EntityKind, type[CanvasEntity]] = {
    cls.kind: cls for cls in (Outcome, OutcomeGroup, Link, Result, Proficiency, CalculationMethod)
}


def aggregate_key(event: CanvasEvent) -> UUID:
    """The id of the aggregate an event belongs to (in the appender, when the event was
    judged in its process)."""
    return AGGREGATE_CLASSES[event.kind].id_for(event.root_account, event.entity_id)


def aggregate_key_bytes(event: CanvasEvent) -> bytes:
    """`aggregate_key(event).bytes`: what the parsing worker ships ahead of the appender."""
    return AGGREGATE_CLASSES[event.kind].id_bytes_for(event.root_account, event.entity_id)
