"""Stored domain events turned into read-model rows. Pure: no SQL here.

A stored event holds the Canvas body as it was validated on the way in, so this is
a matter of picking columns and making ids and times comparable: ids in the local
form of the root account's shard, times as fixed-width UTC text.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson

from domain.ids import local_id, shard_of
from domain.kinds import EntityKind
from domain.valid_time import valid_time_order

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

KIND_BY_CLASS = {
    "Outcome": EntityKind.OUTCOME,
    "OutcomeGroup": EntityKind.OUTCOME_GROUP,
    "Link": EntityKind.LINK,
    "Result": EntityKind.RESULT,
    "Proficiency": EntityKind.PROFICIENCY,
    "CalculationMethod": EntityKind.CALCULATION_METHOD,
}


@cache  # a log has a dozen topics
def kind_of_topic(topic: str) -> EntityKind | None:
    """`domain.aggregates:Result.ChangeRecorded` -> RESULT."""
    class_name = topic.rpartition(":")[2].partition(".")[0]
    return KIND_BY_CLASS.get(class_name)


def time_text(value: str | datetime | None) -> str | None:
    """Fixed-width UTC text, so that SQL compares times as text."""
    if value is None:
        return None
    if isinstance(value, str):
        fast = _utc_text_fast(value)
        if fast is not None:
            return fast
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _utc_text_fast(value: str) -> str | None:
    """The common UTC spellings (`...Z`, `...+00:00`), without parsing a datetime."""
    if value.endswith("Z"):
        stem = value[:-1]
    elif value.endswith("+00:00"):
        stem = value[:-6]
    else:
        return None
    if len(stem) == 19:
        return stem + ".000000Z"
    if len(stem) > 20 and stem[19] == "." and len(stem) <= 26:
        return stem + "0" * (26 - len(stem)) + "Z"
    return None


class StoredChange:
    """One domain event from the log, as the projections see it.

    The times and the valid-time order are worked out once here: every projector
    and every row of a change uses them.
    """

    __slots__ = (
        "canvas_id",
        "event_time",
        "home_shard",
        "kind",
        "position",
        "recorded_at",
        "root_account",
        "state",
        "valid_order",
    )

    def __init__(
        self,
        position: int,
        kind: EntityKind,
        root_account: str,
        canvas_id: str,
        state: dict[str, Any],
    ) -> None:
        self.position = position
        self.kind = kind
        self.root_account = root_account
        self.canvas_id = canvas_id
        self.state = state
        self.event_time: str = time_text(state["timestamp"]) or ""
        self.recorded_at: str = _recorded_at_text(state["recorded_at"])
        when, rank, fingerprint = valid_time_order(
            self.event_time, state["canvas_event"], state["fingerprint"]
        )
        self.valid_order = f"{when}|{rank}|{fingerprint}"  # text order is that order
        self.home_shard = shard_of(state["metadata"].get("root_account_id"))

    def local(self, value: Any) -> str | None:
        return None if value is None else local_id(str(value), self.home_shard)

    def common(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "root_account": self.root_account,
            "valid_order": self.valid_order,
            "event_time": self.event_time,
            "recorded_at": self.recorded_at,
            "canvas_event": self.state["canvas_event"],
            "workflow_state": self.state["body"].get("workflow_state"),
        }


_recorded_at_texts: dict[str, str] = {}


def _recorded_at_text(value: str) -> str:
    """`time_text` of a recording time: a replay batch shares one, so it is kept."""
    text = _recorded_at_texts.get(value)
    if text is None:
        if len(_recorded_at_texts) > 1_000:
            _recorded_at_texts.clear()
        text = _recorded_at_texts[value] = time_text(value) or ""
    return text


def result_row(change: StoredChange) -> dict[str, Any]:
    """`common()` spelled out: one of these is built for nearly every event."""
    state = change.state
    body = state["body"]
    home_shard = change.home_shard
    outcome_id = body.get("learning_outcome_id")
    context_id = body.get("result_context_id")
    return {
        "position": change.position,
        "root_account": change.root_account,
        "valid_order": change.valid_order,
        "event_time": change.event_time,
        "recorded_at": change.recorded_at,
        "canvas_event": state["canvas_event"],
        "workflow_state": body.get("workflow_state"),
        "result_id": change.canvas_id,
        "user_uuid": body.get("user_uuid"),
        "outcome_id": None if outcome_id is None else local_id(str(outcome_id), home_shard),
        "context_type": body.get("result_context_type") or "Course",
        "context_id": None if context_id is None else local_id(str(context_id), home_shard),
        "score": body.get("score"),
        "percent": body.get("percent"),
        "possible": body.get("possible"),
        "attempt": body.get("attempt"),
        "assessed_at": time_text(body.get("assessed_at")),
        "artifact_type": body.get("artifact_type"),
        "associated_asset_type": body.get("associated_asset_type"),
        "associated_asset_id": body.get("associated_asset_id"),
        "legacy": int(bool(change.state.get("legacy"))),
        # the grader's own flag (Outcome Results export); rollups never use it
        "mastery": int(body["mastery"]) if isinstance(body.get("mastery"), bool) else None,
    }


def outcome_row(change: StoredChange) -> dict[str, Any]:
    body = change.state["body"]
    criterion = body.get("rubric_criterion") or {}
    return {
        **change.common(),
        "outcome_id": change.canvas_id,
        "context_type": body.get("context_type"),
        "context_id": change.local(body.get("context_id")),
        "title": body.get("title"),
        "display_name": body.get("display_name"),
        "calculation_method": body.get("calculation_method"),
        "calculation_int": body.get("calculation_int"),
        "points_possible": criterion.get("points_possible"),
        "mastery_points": criterion.get("mastery_points"),
        "ratings": _ratings_json(criterion.get("ratings"))
        if body.get("rubric_criterion")
        else None,
    }


def mastery_scale_row(change: StoredChange) -> dict[str, Any]:
    body = change.state["body"]
    return {
        **change.common(),
        "proficiency_id": change.canvas_id,
        "context_type": body.get("context_type"),
        "context_id": change.local(body.get("context_id")),
        "ratings": _ratings_json(body.get("outcome_proficiency_ratings") or []),
    }


def calculation_method_row(change: StoredChange) -> dict[str, Any]:
    body = change.state["body"]
    return {
        **change.common(),
        "calculation_method_id": change.canvas_id,
        "context_type": body.get("context_type"),
        "context_id": change.local(body.get("context_id")),
        "calculation_method": body.get("calculation_method"),
        "calculation_int": body.get("calculation_int"),
    }


def context_account_row(change: StoredChange) -> dict[str, Any] | None:
    """What a request-triggered event reveals of the account chain.

    Canvas sets `context_account_id` to a course's account, and to an account's
    parent (to itself for a root account): `Context.get_account_or_parent_account_global_id`.
    """
    metadata = change.state["metadata"]
    context_type = metadata.get("context_type")
    context_id = change.local(metadata.get("context_id"))
    account_id = change.local(metadata.get("context_account_id"))
    if context_type not in ("Course", "Account") or context_id is None or account_id is None:
        return None
    if context_type == "Account" and account_id == context_id:
        return None
    return {
        "root_account": change.root_account,
        "context_type": context_type,
        "context_id": context_id,
        "account_id": account_id,
        "event_time": change.event_time,
    }


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _ratings_json(ratings: Any) -> str:
    """Ratings as JSON text, once they have the shape the settings read back.

    Raises ValueError otherwise: the event cannot be projected (`unprojectable`).
    """
    if ratings is not None:
        if not isinstance(ratings, list):
            raise ValueError(f"ratings are a {type(ratings).__name__}, not a list")
        for rating in ratings:
            if not isinstance(rating, dict):
                raise ValueError(f"a rating is a {type(rating).__name__}, not an object")
            points = rating.get("points")
            if points is not None and (
                type(points) not in (int, float) or not math.isfinite(points)
            ):
                raise ValueError(f"a rating's points are {points!r}, not a number")
            for text in ("description", "color"):
                if rating.get(text) is not None and not isinstance(rating[text], str):
                    raise ValueError(f"a rating's {text} is not text")
    return _json(ratings)


VERSION_TABLES: dict[EntityKind, tuple[str, Any]] = {
    EntityKind.RESULT: ("result_versions", result_row),
    EntityKind.OUTCOME: ("outcome_versions", outcome_row),
    EntityKind.PROFICIENCY: ("mastery_scale_versions", mastery_scale_row),
    EntityKind.CALCULATION_METHOD: ("calculation_method_versions", calculation_method_row),
}
