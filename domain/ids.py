"""Canvas ids, as they really arrive, made comparable.

Canvas sends ids as strings, sometimes as JSON numbers, and mixes two forms of the
same id: metadata carries *global* ids (shard * 10**13 + local id) where bodies
carry *local* ones. Both name the same object, so every id is reduced to one
canonical string before it keys anything.
"""

from __future__ import annotations

import uuid
from typing import Any

SHARD_FACTOR = 10**13
MAX_ID_DIGITS = 30

# Fixed namespace: aggregate ids must be the same on every machine and in every run,
# so that a second replay of the same dump finds the aggregates of the first.
AGGREGATE_NAMESPACE = uuid.UUID("6f0c0f6e-5d5b-4a0e-9a53-3c1c2f7c1a10")


class InvalidId(ValueError):
    """An id of a shape that cannot name a Canvas object."""


def normalise_id(value: object) -> str:
    """A Canvas id as a string, whatever JSON type it came in.

    Floats are refused on purpose: a 17-digit global id does not survive a float.
    """
    if isinstance(value, bool):
        raise InvalidId(f"an id cannot be a boolean ({value!r})")
    if isinstance(value, int):
        if value < 0:
            raise InvalidId(f"an id cannot be negative ({value})")
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidId("an id cannot be empty")
        if len(text) > 255:
            raise InvalidId(f"an id cannot be {len(text)} characters long")
        return text
    raise InvalidId(f"an id must be a string or an integer, not {type(value).__name__}")


ID_FIELDS = frozenset(
    {
        "id",
        "learning_outcome_id",
        "learning_outcome_group_id",
        "parent_outcome_group_id",
        "learning_outcome_link_id",
        "outcome_proficiency_id",
        "outcome_proficiency_rating_id",
        "outcome_calculation_method_id",
        "context_id",
        "result_context_id",
        "artifact_id",
        "associated_asset_id",
        "vendor_guid",
        "root_account_id",
        "context_account_id",
        "user_id",
        "user_account_id",
        "job_id",
        "copied_from_outcome_id",
    }
)
"""The id fields of Canvas Learning events (body and metadata)."""

NESTED_WITH_IDS = "outcome_proficiency_ratings"


def normalise_ids(mapping: dict[str, Any]) -> dict[str, Any]:
    """The mapping with every known id field as a string (ratings of a scale too).

    Returns the mapping itself when nothing needed changing, which is the common
    case. Raises InvalidId naming the field.
    """
    changed: dict[str, Any] | None = None
    for key in ID_FIELDS.intersection(mapping):
        value = mapping[key]
        if value is None or (
            type(value) is str and 0 < len(value) <= 255 and value.strip() == value
        ):
            continue  # the common case: already a clean string
        try:
            normalised = normalise_id(value)
        except InvalidId as error:
            raise InvalidId(f"{key}: {error}") from None
        if changed is None:
            changed = dict(mapping)
        changed[key] = normalised
    nested = mapping.get(NESTED_WITH_IDS)
    if type(nested) is list:
        items = [normalise_ids(item) if type(item) is dict else item for item in nested]
        if any(new is not old for new, old in zip(items, nested, strict=True)):
            changed = changed if changed is not None else dict(mapping)
            changed[NESTED_WITH_IDS] = items
    return mapping if changed is None else changed


def shard_of(canvas_id: str | None) -> int | None:
    """The shard a global id lives on (None for a local or non-numeric id)."""
    if canvas_id is None or not canvas_id.isdigit() or len(canvas_id) > MAX_ID_DIGITS:
        return None
    number = int(canvas_id)
    return number // SHARD_FACTOR if number >= SHARD_FACTOR else None


def local_id(canvas_id: str, home_shard: int | None) -> str:
    """The id in local form when it is a global id on the root account's own shard.

    An id from another shard stays global: its local part alone would collide with
    a different object on the home shard.
    """
    if home_shard is None or not canvas_id.isdigit() or len(canvas_id) > MAX_ID_DIGITS:
        return canvas_id
    number = int(canvas_id)
    if number >= SHARD_FACTOR and number // SHARD_FACTOR == home_shard:
        return str(number % SHARD_FACTOR)
    return canvas_id


def aggregate_id(root_account: str, kind: str, canvas_id: str) -> uuid.UUID:
    """Deterministic aggregate id from (root account, kind of entity, Canvas id)."""
    return uuid.uuid5(AGGREGATE_NAMESPACE, f"{root_account}/{kind}/{canvas_id}")


def id_sort_key(canvas_id: str | None) -> tuple[int, int, str]:
    """Order ids as Canvas's database does: numerically when they are numbers."""
    if canvas_id is None:
        return (2, 0, "")
    if canvas_id.isdigit() and len(canvas_id) <= MAX_ID_DIGITS:
        return (0, int(canvas_id), canvas_id)
    return (1, 0, canvas_id)
