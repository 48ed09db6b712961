"""The outcome group tree of one context, as of a moment. Pure: no SQL here.

Canvas keeps one tree of outcome groups per context (account or course): a root
group (no parent), groups under it, and links that place an outcome in a group.
Live events describe that tree one change at a time, out of order and with gaps,
so the tree drawn from them can be in states Canvas itself never was in:

* a child seen before its parent (or whose parent's events were lost): it hangs
  under a marked "parent not yet seen" node named after the missing parent's id;
* a deleted group: it leaves the tree with everything under it (Canvas deletes a
  group's children with it, even when their own delete events are not here), and
  comes back with them when a later version restores it;
* a cycle, when moves arrive out of order (A moved under B is known, B's earlier
  move out from under A is not yet): the edge whose parent assignment is oldest is
  the one most likely superseded by an event still to come, so that group is
  detached (ties: the smallest id) and shown under a marked "cycle broken" node;
  every cycle is reported. The result depends only on the versions, never on the
  order they arrived in, so the same store always draws the same tree.

Every walk is iterative and bounded by the number of groups: no input can make it
recurse without end or loop forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from domain.ids import id_sort_key

PATH_SEPARATOR = " > "

NodeKind = Literal["group", "missing_parent", "cycle_break"]


@dataclass(frozen=True, slots=True)
class GroupVersion:
    """One version of an outcome group, as its event described it."""

    group_id: str
    valid_order: str
    parent_id: str | None
    title: str | None
    description: str | None = None
    vendor_guid: str | None = None
    workflow_state: str | None = None


@dataclass(frozen=True, slots=True)
class LinkState:
    """A link (an outcome placed in a group) in its latest version at the moment."""

    link_id: str
    outcome_id: str | None
    group_id: str | None
    workflow_state: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeInfo:
    """What the tree shows of an outcome: its own title, display name and method."""

    outcome_id: str
    title: str | None
    display_name: str | None = None
    calculation_method: str | None = None
    calculation_int: int | None = None
    deleted: bool = False


@dataclass(slots=True)
class OutcomeEntry:
    link_id: str
    outcome_id: str
    title: str | None
    display_name: str | None
    calculation_method: str | None
    calculation_int: int | None
    path: str = ""
    full_path: str = ""


@dataclass(slots=True)
class Node:
    """A group, or a marked stand-in for a parent not yet seen or a broken cycle."""

    kind: NodeKind
    group_id: str | None
    title: str | None
    description: str | None = None
    vendor_guid: str | None = None
    is_root: bool = False
    groups: list[Node] = field(default_factory=list)
    outcomes: list[OutcomeEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Cycle:
    """Groups whose parents formed a loop, in parent order from the detached one."""

    groups: tuple[str, ...]
    detached: str


@dataclass(slots=True)
class Snapshot:
    """The tree of one context: real roots first, then the marked stand-ins."""

    nodes: list[Node]
    cycles: list[Cycle]
    missing_parents: list[str | None]
    hidden_groups: int
    hidden_links: int

    def outcome_entries(self) -> list[OutcomeEntry]:
        """Every outcome placed in the tree, depth first, in display order."""
        found: list[OutcomeEntry] = []
        stack = list(reversed(self.nodes))
        while stack:
            node = stack.pop()
            found.extend(node.outcomes)
            stack.extend(reversed(node.groups))
        return found


id_key = id_sort_key
"""Numeric ids in numeric order, anything else after them in text order."""


def build_tree(
    group_versions: Iterable[GroupVersion],
    links: Iterable[LinkState],
    outcomes: dict[str, OutcomeInfo],
) -> Snapshot:
    """The tree from every version of the context's groups up to the moment.

    `group_versions` may come in any order; `links` are the links' latest versions.
    """
    latest, parent_since = _latest_versions(group_versions)
    active = {g: v for g, v in latest.items() if v.workflow_state != "deleted"}
    parent_of, missing, under_deleted = _parents(active, latest)

    cycles = _break_cycles(parent_of, parent_since)
    detached = {cycle.detached for cycle in cycles}
    hidden = _hidden_below(parent_of, under_deleted)

    nodes = {
        group_id: Node(
            kind="group",
            group_id=group_id,
            title=version.title,
            description=version.description,
            vendor_guid=version.vendor_guid,
            is_root=version.parent_id is None,
        )
        for group_id, version in active.items()
        if group_id not in hidden
    }
    for group_id in sorted(nodes, key=id_key):
        parent = parent_of.get(group_id)
        if parent is not None and parent in nodes and group_id not in detached:
            nodes[parent].groups.append(nodes[group_id])

    stand_ins: dict[str | None, Node] = {}
    for parent, children in missing.items():
        stand_in = _stand_in(stand_ins, parent)
        stand_in.groups.extend(nodes[c] for c in children if c in nodes)
    hidden_links = _place_links(links, outcomes, nodes, latest, stand_ins)

    roots = [nodes[g] for g in sorted(nodes, key=id_key) if nodes[g].is_root]
    breaks = [
        Node(
            kind="cycle_break",
            group_id=parent_of.get(cycle.detached),
            title=None,
            groups=[nodes[cycle.detached]],
        )
        for cycle in cycles
        if cycle.detached in nodes
    ]
    ordered_stand_ins = [stand_ins[key] for key in sorted(stand_ins, key=id_key)]
    snapshot = Snapshot(
        nodes=roots + ordered_stand_ins + breaks,
        cycles=cycles,
        missing_parents=sorted(stand_ins, key=id_key),
        hidden_groups=len(latest) - len(nodes),
        hidden_links=hidden_links,
    )
    _sort_and_path(snapshot)
    return snapshot


def _latest_versions(
    group_versions: Iterable[GroupVersion],
) -> tuple[dict[str, GroupVersion], dict[str, str]]:
    """Each group's latest version, and since when it has had its current parent."""
    by_group: dict[str, list[GroupVersion]] = {}
    for version in group_versions:
        by_group.setdefault(version.group_id, []).append(version)
    latest: dict[str, GroupVersion] = {}
    parent_since: dict[str, str] = {}
    for group_id, versions in by_group.items():
        versions.sort(key=lambda v: v.valid_order)
        latest[group_id] = versions[-1]
        parent_since[group_id] = _parent_since(versions)
    return latest, parent_since


def _parents(
    active: dict[str, GroupVersion], latest: dict[str, GroupVersion]
) -> tuple[dict[str, str], dict[str | None, list[str]], set[str]]:
    """Each active group's active parent; the children of parents never seen (by parent,
    in id order); and the groups whose parent is deleted."""
    parent_of: dict[str, str] = {}
    missing: dict[str | None, list[str]] = {}
    under_deleted: set[str] = set()
    for group_id in sorted(active, key=id_key):
        parent = active[group_id].parent_id
        if parent is None:
            continue
        if parent in active:
            parent_of[group_id] = parent
        elif parent in latest:
            under_deleted.add(group_id)
        else:
            missing.setdefault(parent, []).append(group_id)
    return parent_of, missing, under_deleted


def _place_links(
    links: Iterable[LinkState],
    outcomes: dict[str, OutcomeInfo],
    nodes: dict[str, Node],
    latest: dict[str, GroupVersion],
    stand_ins: dict[str | None, Node],
) -> int:
    """Put each live link's outcome under its group (or its group's stand-in); returns
    how many are hidden because their group is deleted or under a deleted group."""
    hidden_links = 0
    for link in sorted(links, key=lambda item: id_key(item.link_id)):
        if link.workflow_state == "deleted" or link.outcome_id is None:
            continue
        info = outcomes.get(link.outcome_id) or OutcomeInfo(link.outcome_id, None)
        if info.deleted:
            continue
        entry = OutcomeEntry(
            link.link_id,
            link.outcome_id,
            info.title,
            info.display_name,
            info.calculation_method,
            info.calculation_int,
        )
        if link.group_id in nodes:
            nodes[link.group_id].outcomes.append(entry)
        elif link.group_id in latest:
            hidden_links += 1  # its group is deleted, or under a deleted group
        else:
            _stand_in(stand_ins, link.group_id).outcomes.append(entry)
    return hidden_links


def _parent_since(versions: Sequence[GroupVersion]) -> str:
    """When the group got its current parent: the first version of the last run of it."""
    since = versions[-1].valid_order
    parent = versions[-1].parent_id
    for version in reversed(versions):
        if version.parent_id != parent:
            break
        since = version.valid_order
    return since


def _break_cycles(parent_of: dict[str, str], parent_since: dict[str, str]) -> list[Cycle]:
    """Every loop of parents, each to be cut at its stalest edge.

    Each group has at most one parent, so a walk up from any group either ends or
    comes back to a group of the same walk: that is a loop. Each group is walked
    once (state 2 = done), so this is linear in the number of groups.
    """
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    cycles = []
    for start in sorted(parent_of, key=id_key):
        walk: list[str] = []
        node: str | None = start
        while node is not None and state.get(node, 0) == 0:
            state[node] = 1
            walk.append(node)
            node = parent_of.get(node)
        if node is not None and state.get(node) == 1:
            loop = walk[walk.index(node) :]
            cut = min(loop, key=lambda g: (parent_since.get(g, ""), id_key(g)))
            begin = loop.index(cut)
            cycles.append(Cycle(tuple(loop[begin:] + loop[:begin]), cut))
        for visited in walk:
            state[visited] = 2
    return cycles


def _hidden_below(parent_of: dict[str, str], tops: set[str]) -> set[str]:
    """Groups under a deleted group: the direct children given, and all below them."""
    children: dict[str, list[str]] = {}
    for child, parent in parent_of.items():
        children.setdefault(parent, []).append(child)
    hidden = set()
    stack = list(tops)
    while stack:
        group = stack.pop()
        if group in hidden:
            continue
        hidden.add(group)
        stack.extend(children.get(group, ()))
    return hidden


def _stand_in(stand_ins: dict[str | None, Node], parent: str | None) -> Node:
    if parent not in stand_ins:
        stand_ins[parent] = Node(kind="missing_parent", group_id=parent, title=None)
    return stand_ins[parent]


def group_label(node: Node) -> str:
    """A group's title, or a visible placeholder: a path segment is never empty."""
    if node.title:
        return node.title
    return f"[group {node.group_id}]"


def outcome_label(entry: OutcomeEntry) -> str:
    return entry.title or f"[outcome {entry.outcome_id}]"


def _sort_and_path(snapshot: Snapshot) -> None:
    """Order children by title then id, and give every outcome its path.

    `path` follows Canvas's `OutcomeResultsController#outcome_group_prefix`: the
    titles of the groups from below the context's root group down to the link's
    group, then the outcome's title (the root group, having no parent, is left
    out). `full_path` keeps the root group's title too.
    """
    # A path is kept as a chain of (label, counts for `path`, rest) cells shared by
    # siblings, and spelled out only for a group that holds outcomes: a deep tree
    # costs its depth once, not once per level.
    stack: list[tuple[Node, _Chain]] = [(node, None) for node in snapshot.nodes]
    while stack:
        node, chain = stack.pop()
        if node.kind == "group":
            chain = (group_label(node), not node.is_root, chain)
        node.groups.sort(key=lambda g: ((g.title or "").casefold(), id_key(g.group_id)))
        node.outcomes.sort(
            key=lambda o: ((o.title or "").casefold(), id_key(o.outcome_id), id_key(o.link_id))
        )
        if node.outcomes:
            full_prefix, prefix = _spell(chain)
            for entry in node.outcomes:
                entry.path = PATH_SEPARATOR.join((*prefix, outcome_label(entry)))
                entry.full_path = PATH_SEPARATOR.join((*full_prefix, outcome_label(entry)))
        stack.extend((child, chain) for child in node.groups)


_Chain = tuple[str, bool, "_Chain"] | None


def _spell(chain: _Chain) -> tuple[list[str], list[str]]:
    """All labels of a chain, root first, and those that belong in Canvas's path."""
    every: list[str] = []
    kept: list[str] = []
    while chain is not None:
        label, in_path, chain = chain
        every.append(label)
        if in_path:
            kept.append(label)
    every.reverse()
    kept.reverse()
    return every, kept
