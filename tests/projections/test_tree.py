"""Drawing a context's group tree from versions: orphans, deletions, cycles, paths."""

from __future__ import annotations

import random

from projections.tree import (
    GroupVersion,
    LinkState,
    Node,
    OutcomeInfo,
    Snapshot,
    build_tree,
)


def version(
    group_id: str,
    at: str,
    parent: str | None,
    *,
    title: str | None = None,
    state: str = "active",
) -> GroupVersion:
    return GroupVersion(
        group_id=group_id,
        valid_order=f"2025-01-{at}T00:00:00.000000Z|1|f",
        parent_id=parent,
        title=title or f"G{group_id}",
        workflow_state=state,
    )


OUTCOMES = {
    "7": OutcomeInfo("7", "Fractions", "Fr", "decaying_average", 65),
    "8": OutcomeInfo("8", "Decimals"),
}


def shape(snapshot: Snapshot) -> list[object]:
    """The tree as nested tuples: (kind, id, [outcome ids], [children])."""

    def walk(node: Node) -> object:
        return (
            node.kind,
            node.group_id,
            [entry.outcome_id for entry in node.outcomes],
            [walk(child) for child in node.groups],
        )

    return [walk(node) for node in snapshot.nodes]


def test_children_hang_under_their_parents_with_their_outcomes() -> None:
    snapshot = build_tree(
        [version("1", "01", None), version("2", "02", "1"), version("3", "03", "2")],
        [LinkState("70", "7", "3"), LinkState("80", "8", "2")],
        OUTCOMES,
    )
    assert shape(snapshot) == [
        ("group", "1", [], [("group", "2", ["8"], [("group", "3", ["7"], [])])])
    ]
    assert snapshot.cycles == [] and snapshot.missing_parents == []


def test_a_child_seen_before_its_parent_hangs_under_a_marked_stand_in() -> None:
    snapshot = build_tree([version("3", "03", "2")], [LinkState("70", "7", "3")], OUTCOMES)
    assert shape(snapshot) == [("missing_parent", "2", [], [("group", "3", ["7"], [])])]
    assert snapshot.missing_parents == ["2"]


def test_the_parent_arriving_later_takes_its_child_back() -> None:
    snapshot = build_tree(
        [version("3", "03", "2"), version("2", "02", "1"), version("1", "01", None)],
        [LinkState("70", "7", "3")],
        OUTCOMES,
    )
    assert shape(snapshot) == [
        ("group", "1", [], [("group", "2", [], [("group", "3", ["7"], [])])])
    ]
    assert snapshot.missing_parents == []


def test_a_link_to_a_group_not_yet_seen_is_kept_under_a_stand_in() -> None:
    snapshot = build_tree([version("1", "01", None)], [LinkState("70", "7", "9")], OUTCOMES)
    assert shape(snapshot) == [
        ("group", "1", [], []),
        ("missing_parent", "9", ["7"], []),
    ]


def test_a_moved_group_appears_under_its_new_parent_only() -> None:
    snapshot = build_tree(
        [
            version("1", "01", None),
            version("2", "02", "1"),
            version("3", "03", "1"),
            version("4", "04", "2"),
            version("4", "05", "3"),
        ],
        [],
        OUTCOMES,
    )
    assert shape(snapshot) == [
        ("group", "1", [], [("group", "2", [], []), ("group", "3", [], [("group", "4", [], [])])])
    ]


def test_a_deleted_group_disappears_with_everything_under_it() -> None:
    snapshot = build_tree(
        [
            version("1", "01", None),
            version("2", "02", "1"),
            version("3", "03", "2"),
            version("2", "04", "1", state="deleted"),
        ],
        [LinkState("70", "7", "3"), LinkState("80", "8", "1")],
        OUTCOMES,
    )
    assert shape(snapshot) == [("group", "1", ["8"], [])]
    assert snapshot.hidden_groups == 2
    assert snapshot.hidden_links == 1


def test_a_restored_group_comes_back_with_its_subtree() -> None:
    versions = [
        version("1", "01", None),
        version("2", "02", "1"),
        version("3", "03", "2"),
        version("2", "04", "1", state="deleted"),
        version("2", "05", "1", state="active"),
    ]
    snapshot = build_tree(versions, [LinkState("70", "7", "3")], OUTCOMES)
    assert shape(snapshot) == [
        ("group", "1", [], [("group", "2", [], [("group", "3", ["7"], [])])])
    ]


def test_deleted_links_and_links_of_deleted_outcomes_are_left_out() -> None:
    outcomes = {**OUTCOMES, "9": OutcomeInfo("9", "Gone", deleted=True)}
    snapshot = build_tree(
        [version("1", "01", None)],
        [
            LinkState("70", "7", "1", "deleted"),
            LinkState("80", "8", "1"),
            LinkState("90", "9", "1"),
        ],
        outcomes,
    )
    assert shape(snapshot) == [("group", "1", ["8"], [])]


def test_a_transient_cycle_is_broken_at_its_stalest_edge_and_reported() -> None:
    # B was put under A on the 2nd; A was moved under B on the 5th; B's move out from
    # under A (the 6th) has not arrived yet: for now, A and B are each other's parent.
    versions = [
        version("1", "01", None),
        version("10", "01", "1", title="A"),
        version("20", "02", "10", title="B"),
        version("10", "05", "20", title="A"),
    ]
    snapshot = build_tree(versions, [LinkState("70", "7", "10")], OUTCOMES)
    assert len(snapshot.cycles) == 1
    cycle = snapshot.cycles[0]
    assert cycle.detached == "20"  # its parent (A) is the older assignment
    assert cycle.groups == ("20", "10")
    assert shape(snapshot) == [
        ("group", "1", [], []),
        ("cycle_break", "10", [], [("group", "20", [], [("group", "10", ["7"], [])])]),
    ]
    # When B's move arrives, the cycle is gone and nothing is reported.
    moved = build_tree(
        [*versions, version("20", "06", "1", title="B")], [LinkState("70", "7", "10")], OUTCOMES
    )
    assert moved.cycles == []
    assert shape(moved) == [("group", "1", [], [("group", "20", [], [("group", "10", ["7"], [])])])]


def test_a_group_that_is_its_own_parent_is_a_cycle_of_one() -> None:
    snapshot = build_tree([version("5", "01", "5")], [], OUTCOMES)
    assert [(c.groups, c.detached) for c in snapshot.cycles] == [(("5",), "5")]
    assert shape(snapshot) == [("cycle_break", "5", [], [("group", "5", [], [])])]


def test_the_tree_does_not_depend_on_the_order_versions_come_in() -> None:
    versions = [
        version("1", "01", None),
        version("10", "01", "1"),
        version("20", "02", "10"),
        version("10", "05", "20"),
        version("30", "03", "99"),
        version("40", "03", "30"),
        version("50", "04", "1", state="deleted"),
        version("60", "04", "50"),
    ]
    links = [LinkState("70", "7", "40"), LinkState("80", "8", "60")]
    expected = shape(build_tree(versions, links, OUTCOMES))
    rng = random.Random(4)
    for _ in range(20):
        shuffled = versions[:]
        rng.shuffle(shuffled)
        assert shape(build_tree(shuffled, list(reversed(links)), OUTCOMES)) == expected


def test_a_very_deep_tree_is_drawn_without_recursion() -> None:
    depth = 20_000
    versions = [version("0", "01", None)] + [
        version(str(i), "01", str(i - 1)) for i in range(1, depth)
    ]
    snapshot = build_tree(versions, [LinkState("70", "7", str(depth - 1))], OUTCOMES)
    (entry,) = snapshot.outcome_entries()
    assert entry.path.count(" > ") == depth - 1


def test_paths_leave_out_the_root_group_as_canvas_does() -> None:
    snapshot = build_tree(
        [
            version("1", "01", None, title="Algebra I"),
            version("2", "02", "1", title="Unit 1"),
            version("3", "03", "2", title="Skills"),
            version("4", "03", "77", title="Orphan"),
        ],
        [LinkState("70", "7", "3"), LinkState("71", "8", "1"), LinkState("72", "8", "4")],
        OUTCOMES,
    )
    paths = {e.link_id: (e.path, e.full_path) for e in snapshot.outcome_entries()}
    assert paths == {
        "70": ("Unit 1 > Skills > Fractions", "Algebra I > Unit 1 > Skills > Fractions"),
        "71": ("Decimals", "Algebra I > Decimals"),
        "72": ("Orphan > Decimals", "Orphan > Decimals"),
    }


def test_untitled_groups_and_unknown_outcomes_get_visible_placeholders() -> None:
    snapshot = build_tree(
        [
            GroupVersion("1", "a", None, None),
            GroupVersion("2", "a", "1", None),
        ],
        [LinkState("70", "404", "2")],
        OUTCOMES,
    )
    (entry,) = snapshot.outcome_entries()
    assert entry.path == "[group 2] > [outcome 404]"
