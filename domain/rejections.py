"""Why an input could not become a Canvas event.

A rejection is data, not an exception: a replay quarantines it with its reason and
goes on. The `reason` is a short stable code (summaries count by it, scripts match
on it); the `detail` is the sentence a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class Refused(Exception):
    """Raised by a step of `domain.events.parse_event` with the rejection that ends the judgement.

    An exception rather than a returned value: entering a `try` costs nothing on the
    path every valid event takes, where a result checked after each step would cost a
    test per step, per event.
    """

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection)
        self.rejection = rejection


REASONS: dict[str, str] = {
    "not-json": "the line is not JSON",
    "invalid-utf8": "the line is not UTF-8",
    "not-an-object": "the JSON is not an object",
    "line-too-long": "over 1,000,000 bytes (Canvas never emits such an event)",
    "bad-sqs-body": "an SQS message whose Body cannot be decoded",
    "bad-jwt": "a JWT whose claims cannot be decoded",
    "truncated-gzip": "the gzip data ends early",
    "bad-gzip": "the gzip data is corrupt",
    "binary-file": "a file that is not text",
    "unreadable-file": "a file that cannot be read",
    "file-too-large": "a .json file too large to read whole",
    "unusable": "the input could not be read",
    "missing-metadata": "not a Canvas event: no metadata",
    "missing-event-name": "not a Canvas event: no event_name",
    "missing-event-time": "not a Canvas event: no event_time",
    "missing-body": "not a Canvas event: no body",
    "missing-entity-id": "a Learning event without the id of its entity",
    "wrong-type": "a field of a type that cannot be coerced (the detail names it)",
    "implausible-event-time": "before 2000 or more than a day in the future",
    "unknown-workflow-state": "a workflow_state other than active and deleted",
    "out-of-range": "an integer outside signed 64 bits, or a time that does not exist in UTC",
}
"""Every reason code, with what it means: the quarantine's vocabulary."""
