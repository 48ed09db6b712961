"""Incremental work costs time in the size of the batch, not of the store: the
statements run per batch look versions up by index."""

from __future__ import annotations

from pathlib import Path

from projections.catchup import open_read_models
from projections.touched_rollups import KEYS_OF_BATCH_RESULTS
from tests.replay.helpers import run

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


def test_a_batchs_results_are_looked_up_by_index_not_by_scanning_every_version(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(SAMPLE)).exit_code == 0
    db = open_read_models(store / "read-models.sqlite")
    try:
        db.execute("CREATE TEMP TABLE IF NOT EXISTS batch_results (root_account, result_id)")
        plan = [row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {KEYS_OF_BATCH_RESULTS}")]
    finally:
        db.close()
    assert "SCAN b" in plan
    assert any(step.startswith("SEARCH r USING INDEX") for step in plan), plan
    assert not any(step.startswith("SCAN r") for step in plan), plan
