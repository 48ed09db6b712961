"""Canvas Learning events for tests, in the real envelope shape, with few arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

ROOT = "21070000000000001"
SUB_ACCOUNT_GLOBAL = "21070000000000079"
STUDENT = "stu-ada-0000000000000000000000000000000000"
OTHER_STUDENT = "stu-bob-0000000000000000000000000000000000"
COURSE = "565"


def envelope(name: str, at: str, body: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "event_name": name,
            "event_time": at,
            "producer": "canvas",
            "root_account_id": ROOT,
            "root_account_uuid": "VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs",
            **metadata,
        },
        "body": body,
    }


def outcome(
    outcome_id: str,
    *,
    at: str = "2025-01-01T00:00:00Z",
    method: str | None = "highest",
    calculation_int: int | None = None,
    points_possible: float = 5,
    mastery_points: float = 3,
    name: str = "learning_outcome_created",
    title: str | None = None,
    ratings: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "learning_outcome_id": outcome_id,
        "context_type": "Account",
        "context_id": "1",
        "title": title or f"Outcome {outcome_id}",
        "workflow_state": "active",
        "rubric_criterion": {
            "mastery_points": mastery_points,
            "points_possible": points_possible,
            "ratings": [
                {"description": d, "points": p}
                for d, p in (ratings or [("Exceeds", 5), ("Meets", 3), ("Does not meet", 0)])
            ],
        },
    }
    if method is not None:
        body["calculation_method"] = method
    if calculation_int is not None:
        body["calculation_int"] = calculation_int
    return envelope(name, at, body)


def result(
    result_id: str,
    score: float | None,
    *,
    at: str,
    assessed_at: str | None = None,
    user: str = STUDENT,
    outcome_id: str = "1",
    course: str = COURSE,
    percent: float | None = None,
    possible: float | None = None,
    name: str = "learning_outcome_result_created",
    workflow_state: str = "active",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result_id,
        "user_uuid": user,
        "learning_outcome_id": outcome_id,
        "result_context_type": "Course",
        "result_context_id": course,
        "score": score,
        "percent": percent,
        "possible": possible,
        "assessed_at": assessed_at or at,
        "created_at": at,
        "workflow_state": workflow_state,
        "artifact_type": "RubricAssessment",
        "associated_asset_type": "Assignment",
        "associated_asset_id": "56",
        **extra,
    }
    return envelope(name, at, body)


def mastery_scale(
    scale_id: str,
    *,
    at: str,
    context_type: str = "Course",
    context_id: str = COURSE,
    ratings: list[tuple[str, float, bool, str]] | None = None,
    workflow_state: str = "active",
    name: str = "outcome_proficiency_created",
) -> dict[str, Any]:
    rows = ratings or [
        ("Exceeds Mastery", 4.0, False, "127A1B"),
        ("Mastery", 3.0, True, "0B874B"),
        ("Near Mastery", 2.0, False, "FAB901"),
        ("Well Below Mastery", 0.0, False, "E0061F"),
    ]
    return envelope(
        name,
        at,
        {
            "outcome_proficiency_id": scale_id,
            "context_type": context_type,
            "context_id": context_id,
            "workflow_state": workflow_state,
            "outcome_proficiency_ratings": [
                {
                    "outcome_proficiency_rating_id": str(index),
                    "description": description,
                    "points": points,
                    "mastery": mastery,
                    "color": color,
                    "workflow_state": "active",
                }
                for index, (description, points, mastery, color) in enumerate(rows, 1)
            ],
        },
    )


def calculation_method(
    method_id: str,
    method: str,
    *,
    at: str,
    calculation_int: int | None = None,
    context_type: str = "Course",
    context_id: str = COURSE,
    workflow_state: str = "active",
    name: str = "outcome_calculation_method_created",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "outcome_calculation_method_id": method_id,
        "context_type": context_type,
        "context_id": context_id,
        "calculation_method": method,
        "workflow_state": workflow_state,
    }
    if calculation_int is not None:
        body["calculation_int"] = calculation_int
    return envelope(name, at, body)


def course_request(event: dict[str, Any], course: str = COURSE) -> dict[str, Any]:
    """The event as emitted during a request in a course of the sub-account."""
    event["metadata"].update(
        context_type="Course",
        context_id=f"2107000000000{int(course):04d}",
        context_account_id=SUB_ACCOUNT_GLOBAL,
    )
    return event


def write_dump(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
    return path


def group(
    group_id: str,
    *,
    at: str,
    parent: str | None = None,
    title: str | None = None,
    context_type: str = "Course",
    context_id: str = COURSE,
    workflow_state: str = "active",
    name: str = "learning_outcome_group_created",
    **extra: Any,
) -> dict[str, Any]:
    """An outcome group event; `parent=None` makes a context's root group."""
    body: dict[str, Any] = {
        "learning_outcome_group_id": group_id,
        "context_type": context_type,
        "context_id": context_id,
        "title": title or f"Group {group_id}",
        "workflow_state": workflow_state,
        **extra,
    }
    if parent is not None:
        body["parent_outcome_group_id"] = parent
    return envelope(name, at, body)


def link(
    link_id: str,
    outcome_id: str,
    group_id: str,
    *,
    at: str,
    context_type: str = "Course",
    context_id: str = COURSE,
    workflow_state: str = "active",
    name: str = "learning_outcome_link_created",
) -> dict[str, Any]:
    """An outcome link event: the outcome placed in a group of a context."""
    return envelope(
        name,
        at,
        {
            "learning_outcome_link_id": link_id,
            "learning_outcome_id": outcome_id,
            "learning_outcome_group_id": group_id,
            "context_type": context_type,
            "context_id": context_id,
            "workflow_state": workflow_state,
        },
    )
