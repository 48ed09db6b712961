"""`mastery hierarchy`: the outcome group tree of a context, now or as of a moment."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich.text import Text
from rich.tree import Tree

from domain.ids import InvalidId, normalise_id
from projections.catchup import ReadModelError
from projections.hierarchy import ContextTree, HierarchyQueries
from projections.queries import MasteryQuestion, QueryError, parse_moment
from projections.tree import Node, OutcomeEntry, group_label, outcome_label
from replay.cli.options import ReadModelsOption, StoreOption, fail, out
from replay.jobs.pipeline import open_read_side
from replay.store.location import StoreError, open_store

CONTEXT_TYPES = {"course": "Course", "account": "Account"}


class TreeFormat(StrEnum):
    tree = "tree"
    json = "json"


def parse_context(text: str) -> tuple[str, str]:
    """`Course:601` or `Account:79` (the type in any case) -> ("Course", "601")."""
    kind, _, identifier = text.partition(":")
    context_type = CONTEXT_TYPES.get(kind.strip().lower())
    if context_type is None or not identifier.strip():
        raise QueryError(f"--context {text!r}: expected Course:ID or Account:ID, e.g. Course:601")
    try:
        return context_type, normalise_id(identifier)
    except InvalidId as error:
        raise QueryError(f"--context {text!r}: {error}") from None


def hierarchy(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    context: Annotated[
        str | None, typer.Option(help="Course:ID or Account:ID (default: every context).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="The tree as Canvas had it then (a date means its end).")
    ] = None,
    known_at: Annotated[
        str | None, typer.Option(help="Only what this store had recorded by then.")
    ] = None,
    output_format: Annotated[
        TreeFormat, typer.Option("--format", help="tree: indented picture; json: nested.")
    ] = TreeFormat.tree,
) -> None:
    """Outcome groups and the outcomes linked in them, per context."""
    try:
        wanted = parse_context(context) if context else (None, None)
        question = MasteryQuestion(
            as_of=parse_moment(as_of, option="--as-of") if as_of else None,
            known_at=parse_moment(known_at, option="--known-at") if known_at else None,
        )
        db = open_read_side(open_store(store, create=False, read_models=read_models))
    except (QueryError, StoreError, ReadModelError) as error:
        raise fail(str(error), 2) from None
    try:
        trees = HierarchyQueries(db).trees(question.moment, *wanted)
    finally:
        db.close()
    if context and not trees:
        raise fail(f"no outcome group or link of {context} is known at that moment", 1)
    if output_format is TreeFormat.json:
        document = [tree_json(tree, question) for tree in trees]
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for tree in trees:
        out.print(tree_picture(tree, question))
        for line in problem_lines(tree):
            out.print(Text(line, style="yellow"))


def _when(question: MasteryQuestion) -> str:
    when = "now"
    if question.as_of:
        when = f"as of {question.as_of.isoformat()}"
    if question.known_at:
        when += f", as known at {question.known_at.isoformat()}"
    return when


def tree_picture(tree: ContextTree, question: MasteryQuestion) -> Tree:
    """A rich Tree: groups in bold, outcomes with id, display name and method."""
    title = Text(f"{tree.context_type} {tree.context_id}", style="bold")
    title.append(f"  (root account {tree.root_account}, {_when(question)})", style="dim")
    picture = Tree(title, guide_style="dim")
    stack: list[tuple[Tree, Node]] = [(picture, node) for node in reversed(tree.snapshot.nodes)]
    while stack:
        parent, node = stack.pop()
        branch = parent.add(_node_label(node))
        for entry in node.outcomes:
            branch.add(_outcome_label(entry))
        stack.extend((branch, child) for child in reversed(node.groups))
    if not tree.snapshot.nodes:
        picture.add(Text("(no active group or outcome)", style="dim"))
    return picture


def _node_label(node: Node) -> Text:
    if node.kind == "missing_parent":
        what = "no group given" if node.group_id is None else f"group {node.group_id}"
        return Text(f"⚠ parent not yet seen ({what})", style="bold yellow")
    if node.kind == "cycle_break":
        return Text(f"⚠ cycle broken: parent group {node.group_id} ignored", style="bold yellow")
    return Text(group_label(node), style="bold")


def _outcome_label(entry: OutcomeEntry) -> Text:
    label = Text(f"{entry.outcome_id} ", style="cyan")
    label.append(outcome_label(entry))
    if entry.display_name and entry.display_name != entry.title:
        label.append(f" ({entry.display_name})", style="italic")
    method = entry.calculation_method or "highest"
    if entry.calculation_int is not None:
        method += f" {entry.calculation_int}"
    label.append(f"  · {method}", style="dim")
    return label


def problem_lines(tree: ContextTree) -> list[str]:
    snapshot = tree.snapshot
    lines = []
    for cycle in snapshot.cycles:
        loop = " -> ".join(cycle.groups + cycle.groups[:1])
        lines.append(
            f"  cycle of parents {loop} (child -> parent): group {cycle.detached} detached"
        )
    if snapshot.missing_parents:
        missing = ", ".join(str(parent) for parent in snapshot.missing_parents)
        lines.append(f"  parents not yet seen: {missing}")
    return lines


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
