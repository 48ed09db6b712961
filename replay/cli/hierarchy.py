"""`mastery hierarchy`: the outcome group tree of a context, now or as of a moment."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text
from rich.tree import Tree

from replay import service
from replay.cli.options import ReadModelsOption, StoreOption, existing_store, out
from replay.cli.output import write_json_array

if TYPE_CHECKING:
    from replay.service import ContextTree, MasteryQuestion, Node, OutcomeEntry


class TreeFormat(StrEnum):
    tree = "tree"
    json = "json"


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
    asked = service.question(as_of=as_of, known_at=known_at)
    with existing_store(store, read_models).reading() as reader:
        trees = reader.hierarchy(asked, context)
    if output_format is TreeFormat.json:
        write_json_array(service.tree_json(tree, asked) for tree in trees)
        return
    for tree in trees:
        out.print(tree_picture(tree, asked))
        for line in problem_lines(tree):
            out.print(Text(line, style="yellow"))


def tree_picture(tree: ContextTree, asked: MasteryQuestion) -> Tree:
    """A rich Tree: groups in bold, outcomes with id, display name and method."""
    title = Text(f"{tree.context_type} {tree.context_id}", style="bold")
    title.append(f"  (root account {tree.root_account}, {service.moment_text(asked)})", style="dim")
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
    return Text(service.group_label(node), style="bold")


def _outcome_label(entry: OutcomeEntry) -> Text:
    label = Text(f"{entry.outcome_id} ", style="cyan")
    label.append(service.outcome_label(entry))
    if entry.display_name and entry.display_name != entry.title:
        label.append(f" ({entry.display_name})", style="italic")
    method = service.method_label(entry.calculation_method, entry.calculation_int)
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
