"""Canvas REST API documents that have no command-line twin: an OutcomeResult, the
`linked` collections, an OutcomeGroup. Written once here for every front door.

Matched against instructure/canvas-lms (lib/api/v1/outcome_results.rb
`outcome_result_json`, lib/api/v1/outcome.rb `outcome_json` / `outcome_group_json`).
What live events cannot fill is null: a user's numeric id, name and SIS id (the
student is their `user_uuid`), `hidden`, `submitted_at` (so `submitted_or_assessed_at`
is the assessment time), descriptions of outcomes; `hide_points` is false, as in
the rollups.
"""

from __future__ import annotations

from typing import Any

from projections.exports import CourseOutcome
from projections.hierarchy import ContextTree
from projections.tree import Node


def asset_string(asset_type: str | None, asset_id: str | None) -> str | None:
    """Canvas's `asset_string`: `Assignment` 53 -> `assignment_53`,
    `Quizzes::Quiz` 7 -> `quizzes:quiz_7`."""
    if not asset_type or asset_id is None:
        return None
    parts = []
    for part in asset_type.split("::"):
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in part).lstrip("_")
        parts.append(snake)
    return f"{':'.join(parts)}_{asset_id}"


def result_json(row: dict[str, Any]) -> dict[str, Any]:
    """One OutcomeResult (`outcome_result_json`)."""
    assessed = row["assessed_at"]
    mastery = row["mastery"]
    return {
        "id": row["result_id"],
        "score": row["score"],
        "mastery": None if mastery is None else bool(mastery),
        "possible": row["possible"],
        "percent": row["percent"],
        "hide_points": False,
        "hidden": None,
        "submitted_or_assessed_at": None if assessed is None else assessed[:19] + "Z",
        "links": {
            "user": row["user_uuid"],
            "learning_outcome": row["outcome_id"],
            "alignment": asset_string(row["associated_asset_type"], row["associated_asset_id"]),
            "assignment": asset_string("Assignment", row["associated_asset_id"])
            if row["associated_asset_type"] == "Assignment"
            else None,
        },
    }


def linked_outcome_json(outcome: CourseOutcome) -> dict[str, Any]:
    """An outcome as `linked.outcomes` has it, with the settings in force at the moment."""
    settings = outcome.settings
    return {
        "id": outcome.outcome_id,
        "title": outcome.title,
        "display_name": outcome.display_name,
        "description": None,
        "vendor_guid": None,
        "url": f"/api/v1/outcomes/{outcome.outcome_id}",
        "points_possible": settings.points_possible,
        "mastery_points": settings.mastery_points,
        "calculation_method": settings.calculation_method or "highest",
        "calculation_int": settings.calculation_int,
        "ratings": [
            {
                "description": r.description,
                "points": r.points,
                "color": r.color,
                "mastery": r.mastery,
            }
            for r in settings.ratings
        ],
        "can_edit": False,
    }


def linked_user_json(user_uuid: str) -> dict[str, Any]:
    return {"id": user_uuid, "name": None, "display_name": None, "sortable_name": None}


def outcome_path_json(outcome: CourseOutcome) -> dict[str, Any]:
    """`linked.outcome_paths`: the groups below the root, then the outcome."""
    return {"id": outcome.outcome_id, "parts": [{"name": p} for p in outcome.path.split(" > ")]}


def group_list_json(tree: ContextTree) -> list[dict[str, Any]]:
    """The course's groups as Canvas lists them (`outcome_group_json`), depth first,
    each with its parent; stand-ins for unknown parents and broken cycles are left
    out (their groups keep their parent's id)."""
    context = f"/api/v1/{(tree.context_type or 'course').lower()}s/{tree.context_id}"
    found: list[dict[str, Any]] = []
    stack: list[tuple[Node, Node | None]] = [(n, None) for n in reversed(tree.snapshot.nodes)]
    while stack:
        node, parent = stack.pop()
        if node.kind == "group" and node.group_id is not None:
            url = f"{context}/outcome_groups/{node.group_id}"
            found.append(
                {
                    "id": node.group_id,
                    "title": node.title,
                    "description": node.description,
                    "vendor_guid": node.vendor_guid,
                    "context_id": tree.context_id,
                    "context_type": tree.context_type,
                    "url": url,
                    "subgroups_url": f"{url}/subgroups",
                    "outcomes_url": f"{url}/outcomes",
                    "can_edit": False,
                    "parent_outcome_group": None
                    if parent is None or parent.group_id is None
                    else {
                        "id": parent.group_id,
                        "title": parent.title,
                        "url": f"{context}/outcome_groups/{parent.group_id}",
                    },
                    "outcomes": [
                        {"id": e.outcome_id, "title": e.title, "link_id": e.link_id}
                        for e in node.outcomes
                    ],
                }
            )
        stack.extend((child, node) for child in reversed(node.groups))
    return found
