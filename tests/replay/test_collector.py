"""A replay and a rebuild tune the cyclic garbage collector, and put it back after.

Someone embedding the replay in a longer-lived program (a notebook, a service) keeps
their interpreter's settings, even when the replay fails.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from replay.jobs.collector import YOUNG_THRESHOLD, batch_collection
from replay.jobs.pipeline import rebuild_read_models, run_replay
from replay.store.location import open_store

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample.jsonl"


def test_a_replay_and_a_rebuild_leave_the_collector_as_they_found_it(tmp_path: Path) -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    store = open_store(str(tmp_path / "store"), create=True)
    summary = run_replay(store, [str(SAMPLE)])
    assert summary.appended > 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    assert rebuild_read_models(store)["events"] == summary.appended
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_inside_a_batch_loop_the_young_generation_is_collected_rarely() -> None:
    before = gc.get_threshold()
    with batch_collection():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        frozen = gc.get_freeze_count()
        assert frozen > 0  # what existed before the loop is left out of the scans
        with batch_collection():  # nested: the outer block keeps the settings
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() == frozen
    assert gc.get_threshold() == before


def test_objects_the_host_program_froze_stay_frozen() -> None:
    gc.freeze()  # as a pre-fork server does at startup
    try:
        frozen = gc.get_freeze_count()
        with batch_collection():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_the_collector_is_restored_when_the_loop_fails() -> None:
    before = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError), batch_collection():
        raise RuntimeError("a batch failed")
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
