"""The rollup change feed: ordered, exactly once for a polling consumer, epoch on rebuild."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.builders import outcome, result
from tests.projections.helpers import replay_events
from tests.replay.helpers import run

REPOSITORY = Path(__file__).resolve().parents[2]

Key = tuple[str, str, str, str, str]


def poll(store: Path, after: int, limit: int | None = None) -> list[dict[str, Any]] | None:
    """One poll of `mastery changes`; None when the store cannot be read yet."""
    options = ["--limit", str(limit)] if limit else []
    outcome_ = run("changes", "--store", str(store), "--after", str(after), *options)
    if outcome_.exit_code != 0:
        return None
    return [orjson.loads(line) for line in outcome_.stdout.splitlines()]


def apply(state: dict[Key, tuple[Any, ...]], change: dict[str, Any]) -> None:
    """What a downstream read model does with a change (the documented contract)."""
    key = (
        change["root_account_id"],
        change["user_uuid"],
        change["learning_outcome_id"],
        change["context_type"],
        change["context_id"],
    )
    if change["count"] == 0:
        state.pop(key, None)
    else:
        state[key] = (change["new_score"], change["new_rating"], change["count"], change["mastery"])


def rollups_table(store: Path) -> dict[Key, tuple[Any, ...]]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        rows = connection.execute(
            "SELECT root_account, user_uuid, outcome_id, context_type, context_id, score, "
            "rating_description, count, mastery FROM rollups WHERE count > 0"
        ).fetchall()
    finally:
        connection.close()
    return {
        tuple(row[:5]): (row[5], row[6], row[7], None if row[8] is None else bool(row[8]))
        for row in rows
    }


def test_changes_come_in_sequence_order_and_after_the_sequence_asked(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(
        store,
        [
            outcome("1", method="latest"),
            result("11", 2, at="2025-02-01T10:00:00Z"),
            result("12", 4, at="2025-02-02T10:00:00Z", user="stu-bob"),
        ],
    )
    replay_events(store, [result("13", 5, at="2025-02-03T10:00:00Z")])
    changes = poll(store, 0)
    assert changes is not None
    assert [c["sequence"] for c in changes] == [1, 2, 3]
    assert len({c["epoch"] for c in changes}) == 1
    last = changes[-1]
    assert list(last) == [
        "sequence",
        "epoch",
        "root_account_id",
        "user_uuid",
        "learning_outcome_id",
        "context_type",
        "context_id",
        "old_score",
        "new_score",
        "old_rating",
        "new_rating",
        "new_rating_points",
        "new_rating_color",
        "mastery",
        "count",
        "caused_by",
        "recorded_at",
    ]
    assert (last["old_score"], last["new_score"]) == (2.0, 5.0)
    assert (last["old_rating"], last["new_rating"]) == ("Does not meet", "Exceeds")
    assert last["mastery"] is True and last["count"] == 2
    assert last["caused_by"]["event"] == "learning_outcome_result_created"
    assert last["caused_by"]["position"] == 4
    assert [c["sequence"] for c in poll(store, 1, limit=1) or []] == [2]
    assert poll(store, 3) == []


def test_a_removed_rollup_is_a_change_to_count_zero(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("11", 2, at="2025-02-01T10:00:00Z")])
    deleted = result(
        "11",
        2,
        at="2025-02-02T10:00:00Z",
        workflow_state="deleted",
        name="learning_outcome_result_updated",
    )
    replay_events(store, [deleted])
    changes = poll(store, 0) or []
    assert [(c["new_score"], c["count"]) for c in changes] == [(2.0, 1), (None, 0)]
    state: dict[Key, tuple[Any, ...]] = {}
    for change in changes:
        apply(state, change)
    assert state == rollups_table(store) == {}


def test_a_rebuild_starts_a_new_epoch(tmp_path: Path) -> None:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("11", 2, at="2025-02-01T10:00:00Z")])
    before = poll(store, 0) or []
    assert run("rebuild", "--store", str(store)).exit_code == 0
    after = poll(store, 0) or []
    assert [c["sequence"] for c in after] == [1]
    assert before[0]["epoch"] != after[0]["epoch"]


def test_the_feed_of_a_store_without_read_models_is_an_error(tmp_path: Path) -> None:
    result_ = run("changes", "--store", str(tmp_path / "nowhere"))
    assert result_.exit_code == 2


@pytest.mark.slow
def test_a_consumer_polling_during_replays_sees_every_change_once_in_order(
    tmp_path: Path,
) -> None:
    dump = tmp_path / "generated.jsonl"
    settings = GeneratorSettings(
        students=40, outcomes=5, results_per_student=12, seed=3, duplicates=0.02
    )
    with dump.open("wb") as target:
        write_dump(settings, target)
    lines = dump.read_bytes().splitlines(keepends=True)
    parts = []
    for index in range(4):
        part = tmp_path / f"part-{index}.jsonl"
        part.write_bytes(b"".join(lines[index::4]))
        parts.append(part)
    store = tmp_path / "store"

    def replays() -> None:
        for part in parts:
            subprocess.run(
                [sys.executable, "-m", "replay", "replay", "--store", str(store), str(part)],
                cwd=REPOSITORY,
                check=True,
                capture_output=True,
            )

    producer = threading.Thread(target=replays)
    producer.start()
    seen: list[int] = []
    epochs: set[str] = set()
    state: dict[Key, tuple[Any, ...]] = {}
    news_while_replaying = 0
    while True:
        running = producer.is_alive()
        changes = poll(store, seen[-1] if seen else 0, limit=50)
        if changes:
            news_while_replaying += running
            for change in changes:
                seen.append(change["sequence"])
                epochs.add(change["epoch"])
                apply(state, change)
        elif not running:
            break
        else:
            time.sleep(0.05)
    producer.join()

    assert seen == list(range(1, len(seen) + 1))  # in order, none missed, none twice
    assert len(epochs) == 1
    assert news_while_replaying >= 2  # the consumer really read while replays appended
    assert state == rollups_table(store)
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        (total,) = connection.execute("SELECT count(*) FROM rollup_changes").fetchone()
    finally:
        connection.close()
    assert total == len(seen)
