"""Canvas ids, as they really arrive, made comparable.

Canvas sends ids as strings, sometimes as JSON numbers, and mixes two forms of the
same id: metadata carries *global* ids (shard * 10**13 + local id) where bodies
carry *local* ones. Both name the same object, so every id is reduced to one
canonical string before it keys anything.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from domain.limits import INT64_MAX

SHARD_FACTOR = 10**13
MAX_CANVAS_ID = INT64_MAX
"""Canvas's ids are PostgreSQL bigints: a larger number names nothing in Canvas."""
MAX_ID_DIGITS = len(str(MAX_CANVAS_ID))
MAX_TEXT_ID_LENGTH = 255

# Fixed namespace: aggregate ids must be the same on every machine and in every run,
# so that a second replay of the same dump finds the aggregates of the first.
AGGREGATE_NAMESPACE = uuid.UUID("6f0c0f6e-5d5b-4a0e-9a53-3c1c2f7c1a10")


class InvalidId(ValueError):
    """An id of a shape that cannot name a Canvas object."""


def is_canvas_id(text: str) -> bool:
    """Whether `text` is a Canvas id: ASCII decimal digits, at most a bigint.

    The one judge of ids, for input and for every place that reads an id as a
    number. `str.isdigit` alone is not enough: it accepts superscripts (U+00B2), which
    `int()` refuses, and fullwidth or Arabic-Indic digits (U+FF15, U+0665), which `int()`
    reads as the ASCII number and so would merge with another object's id.
    """
    return (
        0 < len(text) <= MAX_ID_DIGITS
        and text.isascii()
        and text.isdigit()
        and (len(text) < MAX_ID_DIGITS or int(text) <= MAX_CANVAS_ID)
    )


def normalise_id(value: object) -> str:
    """A Canvas id as a string, whatever JSON type it came in; InvalidId if it is none.

    Floats are refused on purpose: a 17-digit global id does not survive a float.
    Surrounding whitespace is dropped; anything else that is not a Canvas id is
    refused, so that no id reaches the log that a later reader cannot compare.
    """
    if isinstance(value, bool):
        raise InvalidId(f"an id cannot be a boolean ({value!r})")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidId("an id cannot be empty")
    else:
        raise InvalidId(f"an id must be a string or an integer, not {type(value).__name__}")
    if is_canvas_id(text):
        return text
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise InvalidId(f"{shown!r} is not a Canvas id (ASCII digits 0-9, at most {MAX_CANVAS_ID})")


def normalise_text_id(value: object) -> str:
    """An id from outside Canvas (a vendor's GUID): any non-empty text, numbers as text."""
    if isinstance(value, bool):
        raise InvalidId(f"an id cannot be a boolean ({value!r})")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise InvalidId("an id cannot be empty")
        if len(text) > MAX_TEXT_ID_LENGTH:
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
        "root_account_id",
        "context_account_id",
        "user_id",
        "user_account_id",
        "job_id",
        "copied_from_outcome_id",
    }
)
"""The Canvas id fields of Learning events (body and metadata): each `is_canvas_id`."""

TEXT_ID_FIELDS = frozenset({"vendor_guid"})
"""Ids that other systems assign: free text, not judged as Canvas ids."""

NESTED_WITH_IDS = "outcome_proficiency_ratings"


def normalise_ids(mapping: dict[str, Any]) -> dict[str, Any]:
    """The mapping with every known id field as a string (ratings of a scale too).

    Returns the mapping itself when nothing needed changing, which is the common
    case. Raises InvalidId naming the field.
    """
    changed: dict[str, Any] | None = None
    for fields, normalise in _NORMALISERS:
        for key in fields.intersection(mapping):
            value = mapping[key]
            if value is None:
                continue
            try:
                normalised = normalise(value)
            except InvalidId as error:
                raise InvalidId(f"{key}: {error}") from None
            if normalised is not value:
                changed = changed if changed is not None else dict(mapping)
                changed[key] = normalised
    nested = mapping.get(NESTED_WITH_IDS)
    if type(nested) is list:
        items = [normalise_ids(item) if type(item) is dict else item for item in nested]
        if any(new is not old for new, old in zip(items, nested, strict=True)):
            changed = changed if changed is not None else dict(mapping)
            changed[NESTED_WITH_IDS] = items
    return mapping if changed is None else changed


def _canvas_id(value: object) -> object:
    """`normalise_id`, returning a clean string itself (the common case, kept fast)."""
    if type(value) is str and is_canvas_id(value):
        return value
    return normalise_id(value)


def _text_id(value: object) -> object:
    if type(value) is str and 0 < len(value) <= MAX_TEXT_ID_LENGTH and value.strip() == value:
        return value
    return normalise_text_id(value)


_NORMALISERS: tuple[tuple[frozenset[str], Callable[[object], object]], ...] = (
    (ID_FIELDS, _canvas_id),
    (TEXT_ID_FIELDS, _text_id),
)


def shard_of(canvas_id: object) -> int | None:
    """The shard a global id lives on (None for a local id, or anything else)."""
    if not isinstance(canvas_id, str) or not is_canvas_id(canvas_id):
        return None
    number = int(canvas_id)
    return number // SHARD_FACTOR if number >= SHARD_FACTOR else None


def local_id(canvas_id: str, home_shard: int | None) -> str:
    """The id in local form when it is a global id on the root account's own shard.

    An id from another shard stays global: its local part alone would collide with
    a different object on the home shard.
    """
    if home_shard is None or not is_canvas_id(canvas_id):
        return canvas_id
    number = int(canvas_id)
    if number >= SHARD_FACTOR and number // SHARD_FACTOR == home_shard:
        return str(number % SHARD_FACTOR)
    return canvas_id


def same_local_id(one: str, other: str) -> bool:
    """Whether two ids name the same object within its shard, global or local form alike:
    `21070000000000001` and `1` (a global id is shard * 10**13 + the local id). CD2 and
    a user give root accounts in local form, live events often in global form."""
    if one == other:
        return True
    if not (is_canvas_id(one) and is_canvas_id(other)):
        return False
    return int(one) % SHARD_FACTOR == int(other) % SHARD_FACTOR


def aggregate_id(root_account: str, kind: str, canvas_id: str) -> uuid.UUID:
    """Deterministic aggregate id from (root account, kind of entity, Canvas id): the
    name-based (SHA-1, version 5) UUID of "root/kind/id" in AGGREGATE_NAMESPACE."""
    return uuid.UUID(bytes=aggregate_id_bytes(root_account, kind, canvas_id))


_NAMESPACE_BYTES = AGGREGATE_NAMESPACE.bytes


def aggregate_id_bytes(root_account: str, kind: str, canvas_id: str) -> bytes:
    """The 16 bytes of `aggregate_id`: `uuid.uuid5` written out (RFC 4122, 4.3). The
    parsing worker ships these bytes for every event of a large replay, and `uuid5`
    makes a UUID object on the way: ~0.8 us against ~2.5 us."""
    name = f"{root_account}/{kind}/{canvas_id}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return bytes(digest)


def id_sort_key(canvas_id: str | None) -> tuple[int, int, str]:
    """Order ids as Canvas's database does: numerically when they are Canvas ids.

    Anything else (a legacy result's own key, an id stored by an older version of
    this program) after them in text order, and no id (None) last.
    """
    if canvas_id is None:
        return (2, 0, "")
    if is_canvas_id(canvas_id):
        return (0, int(canvas_id), canvas_id)
    return (1, 0, canvas_id)
