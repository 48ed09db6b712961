"""Rows of the change feed (`rollup_changes`), as both ways of computing rollups write them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from projections.rollups import RollupKey


class Cause(NamedTuple):
    """The latest event that touched a rollup: what the change feed names."""

    position: int
    event: str
    recorded_at: str


def feed_row(
    key: RollupKey,
    old: Sequence[Any] | None,
    new: dict[str, Any] | None,
    cause: Cause,
) -> dict[str, Any]:
    root_account, user_uuid, outcome_id, context_type, context_id = key
    return {
        "root_account": root_account,
        "user_uuid": user_uuid,
        "outcome_id": outcome_id,
        "context_type": context_type,
        "context_id": context_id,
        "old_score": old[0] if old else None,
        "new_score": new["score"] if new else None,
        "old_rating": old[1] if old else None,
        "new_rating": new["rating_description"] if new else None,
        "new_rating_points": new["rating_points"] if new else None,
        "new_rating_color": new["rating_color"] if new else None,
        "new_mastery": new["mastery"] if new else None,
        "new_count": new["count"] if new else 0,
        "caused_by_position": cause.position,
        "caused_by_event": cause.event,
        "recorded_at": cause.recorded_at,
    }


def in_feed_order(feed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A batch of feed rows in the order they take their sequence: by cause, then key."""
    return sorted(
        feed,
        key=lambda item: (
            item["caused_by_position"],
            item["root_account"],
            item["user_uuid"],
            item["outcome_id"],
            item["context_id"],
        ),
    )
