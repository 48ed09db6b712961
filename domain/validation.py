"""Validating a Learning event's metadata and body (the pydantic models of
domain/payloads.py), and saying in Canvas's words what the validation refused.

Times without a time zone are refused with a hint, or, with `assume_utc`, read as UTC.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from domain.ids import InvalidId
from domain.payloads import OUT_OF_RANGE_ERRORS, Metadata
from domain.rejections import Refused, Rejection


def validate(
    name: str,
    body_model: type[BaseModel],
    metadata_in: dict[str, Any],
    body_in: dict[str, Any],
    assume_utc: bool,
) -> tuple[Metadata, BaseModel, Any]:
    """The validated metadata and body, and the event time as it was sent (for messages).

    With `assume_utc`, a part refused only for times without a time zone is given "Z"
    and validated again: metadata, then body, may each need it, hence three passes.
    """
    for _attempt in range(3):
        try:
            metadata = Metadata.model_validate(metadata_in)
            body = body_model.model_validate(body_in)
            break
        except ValidationError as error:
            naive = _naive_times(error)
            if not (assume_utc and naive):
                part = "metadata" if _in_metadata(error) else "body"
                raise Refused(_rejection_from(name, error, part)) from None
            if _in_metadata(error):
                metadata_in = _as_utc(metadata_in, naive)
            else:
                body_in = _as_utc(body_in, naive)
    else:  # pragma: no cover - every naive time was made UTC on an earlier pass
        raise Refused(Rejection("wrong-type", f"{name}: times without a time zone"))
    return metadata, body, metadata_in["event_time"]


NAIVE_TIME_HINT = (
    "; Canvas sends UTC times: if this dump was re-exported without time zones, replay it "
    "with --assume-utc"
)


def _naive_times(error: ValidationError) -> list[tuple[int | str, ...]]:
    """Where the validation found a time without a time zone (rare: only on failure)."""
    return [
        item["loc"]
        for item in error.errors(include_url=False)
        if item["type"] == "timezone_aware" and isinstance(item["input"], str)
    ]


def _as_utc(data: dict[str, Any], places: list[tuple[int | str, ...]]) -> dict[str, Any]:
    """A copy of `data` whose times at `places` say UTC ("Z" appended), copying only
    the containers on the way to them."""
    root: Any = dict(data)
    for place in places:
        node = root
        for step in place[:-1]:
            child = node[step]
            node[step] = child = dict(child) if isinstance(child, dict) else list(child)
            node = child
        node[place[-1]] = node[place[-1]] + "Z"
    copied: dict[str, Any] = root
    return copied


def _in_metadata(error: ValidationError) -> bool:
    return error.title == Metadata.__name__


def _rejection_from(name: str, error: ValidationError, part: str) -> Rejection:
    problems = []
    for item in error.errors(include_url=False)[:3]:
        where = ".".join(str(step) for step in (part, *item["loc"]))
        message = item["msg"]
        if isinstance(item.get("ctx", {}).get("error"), InvalidId):
            message = str(item["ctx"]["error"])
        problems.append(f"{where}: {message}")
    more = error.error_count() - len(problems)
    detail = "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
    if _naive_times(error):
        detail += NAIVE_TIME_HINT
    return Rejection(_reason_of(error), f"{name}: {detail}")


def _reason_of(error: ValidationError) -> str:
    types = {item["type"] for item in error.errors(include_url=False)}
    if "missing" in types:
        return "missing-entity-id"
    if types <= OUT_OF_RANGE_ERRORS:
        return "out-of-range"
    return "wrong-type"
