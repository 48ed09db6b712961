"""The outcome group hierarchy: every version of groups and links, and current paths.

Groups and links are kept version by version, keyed like the mastery projection's
tables (root account, entity id, `valid_order`), so that the tree of any context can
be drawn as of any valid time T (and as known at any K) from the versions with
`event_time <= T` (and `recorded_at <= K`); `projections/tree.py` draws it.

`outcome_paths` is the one current table: each active link's path in its context
("Strand > Sub-strand > Outcome", as Canvas's gradebook export names its columns).
A batch recomputes the paths of every context it touched: a group or link of that
context changed, or an outcome linked there changed (its title is the last part of
the path). This projector runs after the mastery projector in the same transaction,
so `outcome_versions` already holds the batch's outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from domain.kinds import EntityKind
from projections.rows import StoredChange
from projections.schema import Indexes, Tables, create_tables, insert_rows
from projections.settings import NOW, Moment
from projections.tree import (
    GroupVersion,
    LinkState,
    OutcomeEntry,
    OutcomeInfo,
    Snapshot,
    build_tree,
    id_key,
)
from projections.unprojectable import Rows, Unprojectable, column_kinds, screen
from projections.unprojectable import record as record_unprojectable

_VERSION_COLUMNS: dict[str, Any] = {
    "root_account": str,
    "valid_order": str,
    "event_time": str,
    "recorded_at": str,
    "position": int,
    "canvas_event": str,
    "workflow_state": str,
    "context_type": str,
    "context_id": str,
}

HIERARCHY_TABLES: Tables = {
    "outcome_group_versions": (
        {
            **_VERSION_COLUMNS,
            "group_id": str,
            "parent_group_id": str,
            "title": str,
            "description": str,
            "vendor_guid": str,
        },
        ["root_account", "group_id", "valid_order"],
    ),
    "outcome_link_versions": (
        {**_VERSION_COLUMNS, "link_id": str, "outcome_id": str, "group_id": str},
        ["root_account", "link_id", "valid_order"],
    ),
    "outcome_paths": (
        {
            "root_account": str,
            "context_type": str,
            "context_id": str,
            "link_id": str,
            "outcome_id": str,
            "group_id": str,
            "outcome_title": str,
            "path": str,
            "full_path": str,
        },
        ["root_account", "context_type", "context_id", "link_id"],
    ),
}

HIERARCHY_INDEXES: Indexes = [
    ("outcome_group_versions", ["root_account", "context_type", "context_id"]),
    ("outcome_link_versions", ["root_account", "context_type", "context_id"]),
    ("outcome_link_versions", ["root_account", "outcome_id"]),
    ("outcome_paths", ["root_account", "context_id", "outcome_id"]),
    ("outcome_paths", ["outcome_id"]),
]

ContextKey = tuple[str, str | None, str | None]
"""(root_account, context_type, context_id)"""


def group_row(change: StoredChange) -> dict[str, Any]:
    body = change.state["body"]
    return {
        **change.common(),
        "context_type": body.get("context_type"),
        "context_id": change.local(body.get("context_id")),
        "group_id": change.canvas_id,
        "parent_group_id": change.local(body.get("parent_outcome_group_id")),
        "title": body.get("title"),
        "description": body.get("description"),
        "vendor_guid": None if body.get("vendor_guid") is None else str(body["vendor_guid"]),
    }


def link_row(change: StoredChange) -> dict[str, Any]:
    body = change.state["body"]
    return {
        **change.common(),
        "context_type": body.get("context_type"),
        "context_id": change.local(body.get("context_id")),
        "link_id": change.canvas_id,
        "outcome_id": change.local(body.get("learning_outcome_id")),
        "group_id": change.local(body.get("learning_outcome_group_id")),
    }


def _rows_of(change: StoredChange) -> Rows:
    if change.kind is EntityKind.OUTCOME_GROUP:
        return [("outcome_group_versions", group_row(change))]
    return [("outcome_link_versions", link_row(change))]


_COLUMN_KINDS = column_kinds(HIERARCHY_TABLES)


class HierarchyProjector:
    name = "hierarchy"

    def create_schema(self, db: sqlite_utils.Database) -> None:
        create_tables(db, HIERARCHY_TABLES, HIERARCHY_INDEXES)

    def apply(self, db: sqlite_utils.Database, changes: Sequence[StoredChange]) -> None:
        groups: list[dict[str, Any]] = []
        links: list[dict[str, Any]] = []
        held_back: list[Unprojectable] = []
        for change in changes:
            if change.kind is EntityKind.OUTCOME_GROUP or change.kind is EntityKind.LINK:
                screened = screen(change, _rows_of, _COLUMN_KINDS)
                if isinstance(screened, Unprojectable):
                    held_back.append(screened)
                    continue
                for table, row in screened:
                    (groups if table == "outcome_group_versions" else links).append(row)
        record_unprojectable(db, held_back)
        outcomes = {(c.root_account, c.canvas_id) for c in changes if c.kind is EntityKind.OUTCOME}
        if not (groups or links or outcomes):
            return
        insert_rows(db, "outcome_group_versions", groups)
        insert_rows(db, "outcome_link_versions", links)
        touched: set[ContextKey] = set()
        for table, id_column, rows in (
            ("outcome_group_versions", "group_id", groups),
            ("outcome_link_versions", "link_id", links),
        ):
            # Every context the entity was ever in: a move between contexts touches both.
            # No DISTINCT in these lookups (`touched` is a set): with it, SQLite picks the
            # (root_account, context) index to read rows in DISTINCT's order, and scans
            # every link of the root account for each one, quadratic in a large world.
            for key in {(row["root_account"], row[id_column]) for row in rows}:
                touched.update(
                    (key[0], context_type, context_id)
                    for context_type, context_id in db.execute(_contexts_of(table, id_column), key)
                )
        for root_account, outcome_id in outcomes:
            touched.update(
                (root_account, context_type, context_id)
                for context_type, context_id in db.execute(
                    _contexts_of("outcome_link_versions", "outcome_id"), [root_account, outcome_id]
                )
            )
        for context in sorted(touched, key=repr):
            refresh_paths(db, context)


def _contexts_of(table: str, id_column: str) -> str:
    return (
        f"SELECT context_type, context_id FROM {table} WHERE root_account = ? AND {id_column} = ?"
    )


def context_lookups() -> list[str]:
    """The statements `apply` runs for each entity of a batch (tested for their plan)."""
    return [
        _contexts_of("outcome_group_versions", "group_id"),
        _contexts_of("outcome_link_versions", "link_id"),
        _contexts_of("outcome_link_versions", "outcome_id"),
    ]


def refresh_paths(db: sqlite_utils.Database, context: ContextKey) -> None:
    """Replace the context's rows of `outcome_paths` by its current tree's paths."""
    root_account, context_type, context_id = context
    db.execute(
        "DELETE FROM outcome_paths WHERE root_account = ? AND context_type IS ? "
        "AND context_id IS ?",
        [root_account, context_type, context_id],
    )
    snapshot = HierarchyQueries(db).snapshot(context, NOW)
    insert_rows(
        db,
        "outcome_paths",
        [
            {
                "root_account": root_account,
                "context_type": context_type,
                "context_id": context_id,
                "link_id": entry.link_id,
                "outcome_id": entry.outcome_id,
                "group_id": group_id,
                "outcome_title": entry.title,
                "path": entry.path,
                "full_path": entry.full_path,
            }
            for entry, group_id in _entries_with_groups(snapshot)
        ],
    )


def _entries_with_groups(snapshot: Snapshot) -> list[tuple[OutcomeEntry, str | None]]:
    found: list[tuple[OutcomeEntry, str | None]] = []
    stack = list(snapshot.nodes)
    while stack:
        node = stack.pop()
        found.extend((entry, node.group_id) for entry in node.outcomes)
        stack.extend(node.groups)
    return found


@dataclass(frozen=True, slots=True)
class ContextTree:
    """The tree of one context at one moment, with what names the context."""

    root_account: str
    context_type: str | None
    context_id: str | None
    snapshot: Snapshot


class HierarchyQueries:
    """Trees of contexts as of any moment, from the version tables."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def contexts(self, moment: Moment = NOW) -> list[ContextKey]:
        """Every context with a group or link known at the moment."""
        rows = self.db.execute(
            "SELECT root_account, context_type, context_id FROM outcome_group_versions "
            "WHERE event_time <= :valid AND recorded_at <= :known UNION "
            "SELECT root_account, context_type, context_id FROM outcome_link_versions "
            "WHERE event_time <= :valid AND recorded_at <= :known",
            {"valid": moment.valid, "known": moment.known},
        ).fetchall()
        return sorted(
            ((r[0], r[1], r[2]) for r in rows),
            key=lambda key: (key[0], key[1] or "", id_key(key[2])),
        )

    def trees(
        self,
        moment: Moment = NOW,
        context_type: str | None = None,
        context_id: str | None = None,
    ) -> list[ContextTree]:
        """The trees of every context, or of the one asked for (in every root account)."""
        trees = []
        for key in self.contexts(moment):
            if context_type is not None and (key[1], key[2]) != (context_type, context_id):
                continue
            trees.append(ContextTree(*key, self.snapshot(key, moment)))
        return trees

    def snapshot(self, context: ContextKey, moment: Moment = NOW) -> Snapshot:
        root_account, context_type, context_id = context
        window = {"valid": moment.valid, "known": moment.known}
        where = (
            "root_account = :root AND event_time <= :valid AND recorded_at <= :known AND {id} IN "
            "(SELECT {id} FROM {table} WHERE root_account = :root AND context_type IS :type "
            "AND context_id IS :context AND event_time <= :valid AND recorded_at <= :known)"
        )
        params = {**window, "root": root_account, "type": context_type, "context": context_id}
        group_rows = list(
            self.db.query(
                "SELECT * FROM outcome_group_versions WHERE "
                + where.format(id="group_id", table="outcome_group_versions"),
                params,
            )
        )
        latest_context: dict[str, tuple[str, tuple[Any, Any]]] = {}
        for row in group_rows:
            seen = latest_context.get(row["group_id"])
            if seen is None or seen[0] < row["valid_order"]:
                latest_context[row["group_id"]] = (
                    row["valid_order"],
                    (row["context_type"], row["context_id"]),
                )
        here = (context_type, context_id)
        versions = [
            GroupVersion(
                group_id=row["group_id"],
                valid_order=row["valid_order"],
                parent_id=row["parent_group_id"],
                title=row["title"],
                description=row["description"],
                vendor_guid=row["vendor_guid"],
                workflow_state=row["workflow_state"],
            )
            for row in group_rows
            if latest_context[row["group_id"]][1] == here
        ]
        link_rows = self.db.query(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY link_id "
            "ORDER BY valid_order DESC) AS version_rank FROM outcome_link_versions WHERE "
            + where.format(id="link_id", table="outcome_link_versions")
            + ") WHERE version_rank = 1",
            params,
        )
        links = [
            LinkState(row["link_id"], row["outcome_id"], row["group_id"], row["workflow_state"])
            for row in link_rows
            if (row["context_type"], row["context_id"]) == here
        ]
        outcomes = self._outcomes(root_account, {link.outcome_id for link in links}, moment)
        return build_tree(versions, links, outcomes)

    def _outcomes(
        self, root_account: str, outcome_ids: set[str | None], moment: Moment
    ) -> dict[str, OutcomeInfo]:
        wanted = sorted(i for i in outcome_ids if i is not None)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self.db.query(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY outcome_id "
            "ORDER BY valid_order DESC) AS version_rank FROM outcome_versions "
            f"WHERE root_account = ? AND outcome_id IN ({marks}) AND event_time <= ? "
            "AND recorded_at <= ?) WHERE version_rank = 1",
            [root_account, *wanted, moment.valid, moment.known],
        )
        return {
            row["outcome_id"]: OutcomeInfo(
                outcome_id=row["outcome_id"],
                title=row["title"],
                display_name=row["display_name"],
                calculation_method=row["calculation_method"],
                calculation_int=row["calculation_int"],
                deleted=row["workflow_state"] == "deleted",
            )
            for row in rows
        }
