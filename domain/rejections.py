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
