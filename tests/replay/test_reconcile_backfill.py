"""`mastery reconcile --backfill` of outcomes, groups and mastery scales the stream lost, and
snapshots whose results name students by a numeric `user_id` only."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from replay.cli.app import app
from replay.service import MasteryService, question
from replay.service.synthetic import write_synthetic_world

WORLD = {"seed": 7, "students": 200, "courses": 8, "results_per_student": 20}
CREATIONS = {
    "learning_outcomes": ("learning_outcome_created", "learning_outcome_id"),
    "learning_outcome_groups": ("learning_outcome_group_created", "learning_outcome_group_id"),
    "outcome_proficiencies": ("outcome_proficiency_created", "outcome_proficiency_id"),
}
"""CD2 table -> the live event that creates its records, and the body's id."""


@dataclass
class World:
    store: Path
    snapshot: Path
    dropped: list[dict[str, Any]]
    delivered: list[dict[str, Any]]


def _silences(*event_names: str) -> tuple[str, ...]:
    return tuple(f"{name}:2024-01-01:2026-12-31" for name in event_names)


def _world(root: Path, name: str, **options: Any) -> World:
    dump, dropped = io.BytesIO(), io.BytesIO()
    write_synthetic_world(
        dump, cd2_snapshot=str(root / f"{name}-cd2"), dropped=dropped, **options, **WORLD
    )
    (root / f"{name}.jsonl").write_bytes(dump.getvalue())
    store = root / f"{name}-store"
    MasteryService.open(str(store), create=True).replay([str(root / f"{name}.jsonl")])
    return World(
        store,
        root / f"{name}-cd2",
        [orjson.loads(line) for line in dropped.getvalue().splitlines()],
        [orjson.loads(line) for line in dump.getvalue().splitlines()],
    )


@pytest.fixture(scope="module")
def complete(tmp_path_factory: pytest.TempPathFactory) -> MasteryService:
    return MasteryService.open(str(_world(tmp_path_factory.mktemp("complete"), "clean").store))


def _ids(events: list[dict[str, Any]], kind: str, key: str, verb: str | None = None) -> set[str]:
    """Ids of the records of `kind` (an event name without its verb) these events speak of."""
    found = set()
    for event in events:
        name_kind, _, name_verb = str(event["metadata"]["event_name"]).rpartition("_")
        if name_kind == kind and verb in (None, name_verb):
            found.add(str(event["body"][key]))
    return found


def _lost_entirely(world: World, table: str) -> set[str]:
    """Records of `table` whose creation was dropped and of which no other event came."""
    created, key = CREATIONS[table]
    kind = created.removesuffix("_created")
    return _ids(world.dropped, kind, key, "created") - _ids(world.delivered, kind, key)


def test_backfill_creates_the_lost_outcomes_groups_and_scales_and_completes_the_rollups(
    tmp_path: Path, complete: MasteryService
) -> None:
    world = _world(tmp_path, "lossy", silences=_silences(*(c for c, _ in CREATIONS.values())))
    service = MasteryService.open(str(world.store))
    assert service.rollups(question()) != complete.rollups(question())
    report = service.reconcile(str(world.snapshot), backfill=True)
    for table in CREATIONS:
        lost = _lost_entirely(world, table)
        assert lost, table
        assert set(report["other_tables"][table]["missing_from_log"]) == lost
        assert report["backfill"]["by_table"][table] == len(lost)
    assert report["summary"]["missing_from_log"] == 0  # no result was lost
    assert report["after_backfill"]["differs"] is False
    assert all(
        not part["missing_from_log"] for part in report["after_backfill"]["other_tables"].values()
    )
    assert service.rollups(question()) == complete.rollups(question())
    backfilled = service.status().backfilled_by_type
    assert backfilled["learning_outcome_created"] == len(_lost_entirely(world, "learning_outcomes"))
    again = service.reconcile(str(world.snapshot), backfill=True)
    assert again["differs"] is False and again["backfill"]["appended"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(CREATIONS))
def test_each_kind_of_lost_record_alone_is_what_the_backfill_repairs(
    tmp_path: Path, complete: MasteryService, table: str
) -> None:
    world = _world(tmp_path, "lossy", silences=_silences(CREATIONS[table][0]))
    service = MasteryService.open(str(world.store))
    report = service.reconcile(str(world.snapshot), backfill=True)
    assert report["backfill"]["by_table"] == {
        table: len(_lost_entirely(world, table)),
        "learning_outcome_results": 0,
    }
    assert service.rollups(question()) == complete.rollups(question())


def test_a_user_id_only_snapshot_reconciles_like_one_with_uuids(tmp_path: Path) -> None:
    """The join is on the result id: which student a result is of is not compared."""
    world = _world(tmp_path, "lossy", drop_fraction=0.05)
    by_id = tmp_path / "by-user-id"
    write_synthetic_world(
        io.BytesIO(), cd2_snapshot=str(by_id), cd2_user_ids=True, drop_fraction=0.05, **WORLD
    )
    service = MasteryService.open(str(world.store))
    shutil.rmtree(by_id / "users")  # not needed to compare
    with_ids, with_uuids = service.reconcile(str(by_id)), service.reconcile(str(world.snapshot))
    assert with_ids["summary"] == with_uuids["summary"]
    assert with_ids["summary"]["missing_from_log"] > 0
    assert [item["id"] for item in with_ids["missing_from_log"]] == [
        item["id"] for item in with_uuids["missing_from_log"]
    ]


def test_a_user_id_only_snapshot_backfills_the_students_through_its_users_table(
    tmp_path: Path, complete: MasteryService
) -> None:
    world = _world(tmp_path, "lossy", drop_fraction=0.05, cd2_user_ids=True)
    service = MasteryService.open(str(world.store))
    report = service.reconcile(str(world.snapshot), backfill=True)
    assert report["backfill"]["without_user_uuid"] == 0
    assert report["after_backfill"]["differs"] is False
    assert service.rollups(question()) == complete.rollups(question())


def test_without_a_users_table_a_result_the_log_lacks_is_listed_not_appended(
    tmp_path: Path,
) -> None:
    world = _world(tmp_path, "lossy", drop_fraction=0.05, cd2_user_ids=True)
    shutil.rmtree(world.snapshot / "users")
    service = MasteryService.open(str(world.store))
    report = service.reconcile(str(world.snapshot), backfill=True)
    missing = report["summary"]["missing_from_log"]
    differing = report["summary"]["mismatched"] + report["summary"]["deleted_in_cd2"]
    assert missing > 0 and differing > 0
    backfill = report["backfill"]
    assert backfill["without_user_uuid"] == missing
    assert backfill["without_user_uuid_ids"] == [i["id"] for i in report["missing_from_log"]][:20]
    # a result the log has is updated with the log's own uuid for its student
    assert backfill["by_table"]["learning_outcome_results"] == differing
    assert report["after_backfill"]["summary"]["missing_from_log"] == missing
    assert report["after_backfill"]["summary"]["mismatched"] == 0
    shown = CliRunner().invoke(
        app,
        ["reconcile", "--store", str(world.store), "--cd2", str(world.snapshot), "--backfill"],
        env={"COLUMNS": "120"},
    )
    assert shown.exit_code == 1
    assert "results not backfilled: no student uuid (add CD2's users table)" in shown.output
    assert f"{missing:,}" in shown.output


def test_a_deletion_the_log_missed_is_backfilled_as_an_update(tmp_path: Path) -> None:
    world = _world(tmp_path, "lossy", silences=_silences("learning_outcome_group_updated"))
    service = MasteryService.open(str(world.store))
    report = service.reconcile(str(world.snapshot), backfill=True)
    differing = report["other_tables"]["learning_outcome_groups"]["workflow_state_differs"]
    assert differing and all(item["cd2"] == "deleted" for item in differing)
    assert report["backfill"]["by_table"]["learning_outcome_groups"] == len(differing)
    assert service.status().backfilled_by_type["learning_outcome_group_updated"] == len(differing)
    assert report["after_backfill"]["differs"] is False
