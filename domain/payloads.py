"""Pydantic models of the bodies and metadata of Canvas Learning live events.

Written to Canvas's own event reference, and tolerant the way a long-lived consumer
must be: unknown fields are kept (Canvas adds some every few weeks), absent and null
mean the same, ids arrive as strings or numbers and leave as strings (normalised before
validation, in one pass in Python: field validators per id cost more than the rest
of the validation together).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic_core import PydanticCustomError

from domain.limits import INT64_MAX, INT64_MIN

CanvasId = str
"""An id, already normalised by `domain.ids.normalise_ids` before validation."""
OptionalId = str | None


def _in_utc(value: datetime) -> datetime:
    """The time must exist in UTC: the store keeps every time as UTC text."""
    try:
        value.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        raise PydanticCustomError(
            "time_out_of_range", "a time that cannot be expressed in UTC"
        ) from None
    return value


UtcTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""A time with an offset, that exists in UTC."""
OUT_OF_RANGE_ERRORS = frozenset(
    {"greater_than_equal", "less_than_equal", "int_parsing_size", "time_out_of_range"}
)
"""Pydantic's error types for a value beyond what a field (and so the store) holds."""


def _not_a_boolean(value: Any) -> Any:
    """Pydantic's lax mode reads true as 1: a boolean score is a wrong type, not a 1."""
    if value is True or value is False:
        raise ValueError("a boolean is not a number")
    return value


Number = Annotated[float, BeforeValidator(_not_a_boolean)]
"""A float field that takes ints and numeric strings, never a boolean."""
StoredInt = Annotated[int, BeforeValidator(_not_a_boolean), Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer the store can hold (a larger one would stop every projection of the log),
never a boolean."""


class Payload(BaseModel):
    """Every Canvas payload part: extra fields kept, ids and numbers coerced."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Metadata(Payload):
    event_name: str
    event_time: AwareDatetime
    producer: str | None = None
    root_account_id: OptionalId = None
    root_account_uuid: str | None = None
    root_account_lti_guid: str | None = None
    context_type: str | None = None
    context_id: OptionalId = None
    context_account_id: OptionalId = None
    user_id: OptionalId = None
    user_account_id: OptionalId = None
    request_id: str | None = None
    job_id: OptionalId = None
    job_tag: str | None = None


class RubricRating(Payload):
    description: str | None = None
    points: Number | None = None


class RubricCriterion(Payload):
    description: str | None = None
    points_possible: Number | None = None
    mastery_points: Number | None = None
    ratings: list[RubricRating] | None = None


class OutcomeBody(Payload):
    learning_outcome_id: CanvasId
    context_type: str | None = None
    context_id: OptionalId = None
    title: str | None = None
    display_name: str | None = None
    short_description: str | None = None
    description: str | None = None
    vendor_guid: OptionalId = None
    calculation_method: str | None = None
    calculation_int: StoredInt | None = None
    rubric_criterion: RubricCriterion | None = None
    workflow_state: str | None = None
    updated_at: UtcTime | None = None


class OutcomeGroupBody(Payload):
    learning_outcome_group_id: CanvasId
    parent_outcome_group_id: OptionalId = None
    context_type: str | None = None
    context_id: OptionalId = None
    title: str | None = None
    description: str | None = None
    vendor_guid: OptionalId = None
    workflow_state: str | None = None
    updated_at: UtcTime | None = None


class LinkBody(Payload):
    learning_outcome_link_id: CanvasId
    learning_outcome_id: OptionalId = None
    learning_outcome_group_id: OptionalId = None
    context_type: str | None = None
    context_id: OptionalId = None
    workflow_state: str | None = None
    updated_at: UtcTime | None = None


class ResultBody(Payload):
    """A learning outcome result; `id` and `user_uuid` are absent before late 2019."""

    id: OptionalId = None
    user_uuid: str | None = None
    learning_outcome_id: CanvasId
    learning_outcome_context_uuid: str | None = None
    result_context_id: OptionalId = None
    result_context_type: str | None = None
    result_context_uuid: str | None = None
    score: Number | None = None
    possible: Number | None = None
    percent: Number | None = None
    mastery: bool | None = None
    original_score: Number | None = None
    original_possible: Number | None = None
    original_mastery: bool | None = None
    attempt: StoredInt | None = None
    title: str | None = None
    assessed_at: UtcTime | None = None
    created_at: UtcTime | None = None
    updated_at: UtcTime | None = None
    artifact_id: OptionalId = None
    artifact_type: str | None = None
    artifact_created_at: UtcTime | None = None
    artifact_updated_at: UtcTime | None = None
    associated_asset_id: OptionalId = None
    associated_asset_type: str | None = None
    workflow_state: str | None = None


class ProficiencyRating(Payload):
    outcome_proficiency_rating_id: OptionalId = None
    description: str | None = None
    points: Number | None = None
    mastery: bool | None = None
    color: str | None = None
    workflow_state: str | None = None


class ProficiencyBody(Payload):
    """A mastery scale (Canvas calls it an outcome proficiency)."""

    outcome_proficiency_id: CanvasId
    context_type: str | None = None
    context_id: OptionalId = None
    workflow_state: str | None = None
    outcome_proficiency_ratings: list[ProficiencyRating] | None = None
    updated_at: UtcTime | None = None


class CalculationMethodBody(Payload):
    outcome_calculation_method_id: CanvasId
    context_type: str | None = None
    context_id: OptionalId = None
    calculation_method: str | None = None
    calculation_int: StoredInt | None = None
    workflow_state: str | None = None
    updated_at: UtcTime | None = None


def json_ready(model: BaseModel) -> dict[str, Any]:
    """The model as plain JSON values, nulls left out (absent and null are one)."""
    return model.model_dump(mode="json", exclude_none=True)
