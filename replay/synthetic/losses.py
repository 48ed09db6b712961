"""Known losses for generated dumps: events dropped on purpose, so tests know what is missing.

Three kinds, applied after delivery (duplicates of a dropped event are dropped with it:
the decision is a hash of the logical event, never a random draw, so it does not shift
the generator's other draws and a dump without losses stays byte for byte the same):

- a fraction of all events (`drop_fraction`), chosen by a hash of the seed and the event;
- every event of some days of `event_time` (`drop_days`, UTC dates);
- every event of one type (`learning_outcome_result_updated`, or a prefix such as
  `learning_outcome_result` for both verbs) between two dates, inclusive (`silences`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

Event = dict[str, Any]


class LossError(ValueError):
    """A loss option that cannot be understood."""


@dataclass(frozen=True)
class Silence:
    """One event type (or a prefix of names) silent from `first` to `last` (UTC dates)."""

    event_type: str
    first: date
    last: date

    def covers(self, name: str, day: date) -> bool:
        same = name == self.event_type or name.startswith(self.event_type + "_")
        return same and self.first <= day <= self.last

    @classmethod
    def parse(cls, text: str) -> Silence:
        """`TYPE:FROM:TO`, e.g. `learning_outcome_result_updated:2025-02-03:2025-02-09`."""
        parts = text.split(":")
        if len(parts) != 3 or not parts[0]:
            raise LossError(f"--silence {text!r}: expected TYPE:FROM:TO (dates as YYYY-MM-DD)")
        try:
            first, last = date.fromisoformat(parts[1]), date.fromisoformat(parts[2])
        except ValueError:
            raise LossError(f"--silence {text!r}: FROM and TO are dates (YYYY-MM-DD)") from None
        if last < first:
            raise LossError(f"--silence {text!r}: TO is before FROM")
        return cls(parts[0], first, last)


@dataclass(frozen=True)
class LossPlan:
    drop_fraction: float = 0.0
    drop_days: tuple[date, ...] = ()
    silences: tuple[Silence, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.drop_fraction <= 1.0:
            raise LossError("--drop-fraction is a fraction between 0 and 1")

    @property
    def empty(self) -> bool:
        return self.drop_fraction <= 0.0 and not self.drop_days and not self.silences

    def reason(self, event: Event) -> str | None:
        """Why this event is lost (`fraction`, `day`, `silence`), or None if it is delivered."""
        metadata = event.get("metadata") or {}
        name = str(metadata.get("event_name", ""))
        when = str(metadata.get("event_time", ""))
        day = date.fromisoformat(when[:10]) if len(when) >= 10 else None
        if day is not None:
            if day in self.drop_days:
                return "day"
            if any(silence.covers(name, day) for silence in self.silences):
                return "silence"
        if self.drop_fraction > 0.0 and _fraction(self.seed, event) < self.drop_fraction:
            return "fraction"
        return None


def _fraction(seed: int, event: Event) -> float:
    """A uniform draw in [0, 1) from the logical event (its copies draw the same)."""
    metadata, body = event.get("metadata") or {}, event.get("body") or {}
    identity = "\x00".join(
        str(part)
        for part in (
            seed,
            metadata.get("event_name"),
            metadata.get("event_time"),
            *(body.get(key) for key in _IDENTITY_KEYS),
        )
    )
    digest = hashlib.blake2b(identity.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


_IDENTITY_KEYS = (
    "id",
    "learning_outcome_id",
    "learning_outcome_group_id",
    "learning_outcome_link_id",
    "outcome_proficiency_id",
    "outcome_calculation_method_id",
    "user_uuid",
    "score",
    "title",
)


@dataclass
class LossLedger:
    """What a plan dropped: every lost delivery, by reason."""

    dropped: list[Event] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)

    def lost_result_ids(self) -> set[str]:
        """Ids of the results whose every event was dropped is not this; these are the ids
        of results with at least one dropped event (tests refine it with the snapshot)."""
        return {
            str(event["body"]["id"])
            for event in self.dropped
            if str(event["metadata"]["event_name"]).startswith("learning_outcome_result_")
            and event["body"].get("id") is not None
        }


def apply_losses(events: Iterable[Event], plan: LossPlan, ledger: LossLedger) -> Iterator[Event]:
    """The delivered events; the lost ones go to `ledger`."""
    for event in events:
        why = plan.reason(event)
        if why is None:
            yield event
            continue
        ledger.dropped.append(event)
        ledger.by_reason[why] = ledger.by_reason.get(why, 0) + 1


def parse_days(texts: Iterable[str]) -> tuple[date, ...]:
    days = []
    for text in texts:
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise LossError(f"--drop-day {text!r}: expected a date, YYYY-MM-DD") from None
    return tuple(days)


def write_world(
    settings: Any,
    out: Any,
    plan: LossPlan,
    *,
    snapshot_dir: Any = None,
    snapshot_format: str = "jsonl",
    snapshot_user_ids: bool = False,
    dropped_out: Any = None,
) -> tuple[int, LossLedger]:
    """`write_dump`, with `plan`'s losses, and the world's CD2 snapshot in `snapshot_dir`.

    The snapshot is of the complete world (Canvas has what the stream lost). The
    lost deliveries go to `dropped_out` as JSON lines when it is given.
    Returns (events written, what was dropped).
    """
    import orjson

    from replay.synthetic.cd2 import SnapshotBuilder, write_snapshot
    from replay.synthetic.generate import generate_events

    ledger = LossLedger()
    builder = SnapshotBuilder() if snapshot_dir is not None else None

    def complete() -> Iterator[Event]:
        for event in generate_events(settings):
            if builder is not None:
                builder.add(event)
            yield event

    written = 0
    buffer: list[bytes] = []
    for event in apply_losses(complete(), plan, ledger):
        buffer.append(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
        if len(buffer) >= 4096:
            out.write(b"".join(buffer))
            written += len(buffer)
            buffer.clear()
    out.write(b"".join(buffer))
    written += len(buffer)
    if dropped_out is not None:
        for event in ledger.dropped:
            dropped_out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
    if builder is not None:
        from pathlib import Path

        write_snapshot(builder, Path(snapshot_dir), snapshot_format, user_ids=snapshot_user_ids)
    return written, ledger
