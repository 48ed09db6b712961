"""The documents every front door gives: one rollup, one context's tree, as JSON or CSV.

Written once here so that the same question asked through the command line and
through the API gives the same JSON, field for field.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from projections.hierarchy import ContextTree
from projections.queries import MasteryQuestion
from projections.rollups import RollupRecord
from projections.tree import Node
from replay.store.quarantine import QuarantinedLine


def iso_z(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def rollup_json(record: RollupRecord) -> dict[str, Any]:
    """One (student, outcome, context) rollup: `mastery query --format json`'s item."""
    root_account, user_uuid, outcome_id, context_type, context_id = record.key
    rollup, rating = record.rollup, record.rollup.rating
    return {
        "user_uuid": user_uuid,
        "learning_outcome_id": outcome_id,
        "context_type": context_type or None,
        "context_id": context_id or None,
        "root_account_id": root_account,
        "score": rollup.score,
        "count": rollup.count,
        "mastery": rollup.mastery,
        "rating": None
        if rating is None
        else {"description": rating.description, "points": rating.points, "color": rating.color},
        "calculation_method": rollup.calculation_method,
        "calculation_int": rollup.calculation_int,
        "latest_assessed_at": iso_z(rollup.latest_assessed_at),
    }


ROLLUP_CSV_COLUMNS = [
    "user_uuid",
    "learning_outcome_id",
    "context_type",
    "context_id",
    "score",
    "count",
    "mastery",
    "rating_description",
    "rating_points",
    "rating_color",
    "calculation_method",
    "calculation_int",
    "latest_assessed_at",
]


def rollup_csv_rows(records: Iterable[RollupRecord]) -> Iterator[list[Any]]:
    """The header, then one row per rollup: the JSON item with its rating flattened
    (None where the JSON has null; a CSV writer leaves such a cell empty)."""
    yield ROLLUP_CSV_COLUMNS
    for record in records:
        data = rollup_json(record)
        rating = data.pop("rating") or {}
        data["rating_description"] = rating.get("description")
        data["rating_points"] = rating.get("points")
        data["rating_color"] = rating.get("color")
        yield [data[column] for column in ROLLUP_CSV_COLUMNS]


def moment_text(question: MasteryQuestion) -> str:
    """ "now", "as of T" or "as of T, as known at K": what a title says was asked."""
    when = "now"
    if question.as_of:
        when = f"as of {question.as_of.isoformat()}"
    if question.known_at:
        when += f", as known at {question.known_at.isoformat()}"
    return when


def tree_json(tree: ContextTree, question: MasteryQuestion) -> dict[str, Any]:
    """One context: its tree of groups, each with its outcomes, and what was repaired."""
    snapshot = tree.snapshot
    return {
        "context_type": tree.context_type,
        "context_id": tree.context_id,
        "root_account_id": tree.root_account,
        "as_of": question.as_of.isoformat() if question.as_of else None,
        "known_at": question.known_at.isoformat() if question.known_at else None,
        "groups": [node_json(node) for node in snapshot.nodes],
        "missing_parents": snapshot.missing_parents,
        "cycles": [
            {"groups": list(cycle.groups), "detached": cycle.detached} for cycle in snapshot.cycles
        ],
        "hidden_groups": snapshot.hidden_groups,
        "hidden_links": snapshot.hidden_links,
    }


def node_json(node: Node) -> dict[str, Any]:
    """A node and everything under it; iterative, so any depth is fine."""
    root = _node_fields(node)
    stack = [(root, node)]
    while stack:
        document, current = stack.pop()
        for child in current.groups:
            child_document = _node_fields(child)
            document["groups"].append(child_document)
            stack.append((child_document, child))
    return root


def _node_fields(node: Node) -> dict[str, Any]:
    return {
        "kind": node.kind,
        "id": node.group_id,
        "title": node.title,
        "description": node.description,
        "vendor_guid": node.vendor_guid,
        "outcomes": [
            {
                "link_id": entry.link_id,
                "id": entry.outcome_id,
                "title": entry.title,
                "display_name": entry.display_name,
                "calculation_method": entry.calculation_method,
                "calculation_int": entry.calculation_int,
                "path": entry.path,
            }
            for entry in node.outcomes
        ],
        "groups": [],
    }


def quarantined_json(line: QuarantinedLine) -> dict[str, Any]:
    """A quarantined line: where it came from, why, and its bytes as text."""
    return {
        "source": line.source,
        "line": line.line,
        "item": line.item,
        "reason": line.reason,
        "detail": line.detail,
        "raw": line.raw.decode("utf-8", errors="replace"),
        "quarantined_at": line.quarantined_at,
    }
