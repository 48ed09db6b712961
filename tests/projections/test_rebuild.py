"""The read models are disposable: rebuilt from the log, they are the same rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.replay.helpers import run

TABLES = (
    "rollups",
    "result_versions",
    "outcome_versions",
    "mastery_scale_versions",
    "calculation_method_versions",
    "context_accounts",
)


def table_rows(store: Path, table: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
        varying = {"position", "event_time"} if table == "context_accounts" else {"position"}
        kept = ", ".join(c for c in columns if c not in varying)
        return sorted(connection.execute(f"SELECT {kept} FROM {table}").fetchall(), key=repr)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def generated_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dump") / "generated.jsonl"
    settings = GeneratorSettings(
        students=40,
        outcomes=6,
        results_per_student=12,
        seed=7,
        duplicates=0.05,
        shuffle_seconds=3 * 86400,
        legacy=0.02,
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    return path


def test_rebuild_gives_the_rows_of_the_incremental_path(
    tmp_path: Path, generated_dump: Path
) -> None:
    lines = generated_dump.read_bytes().splitlines(keepends=True)
    store = tmp_path / "store"
    # incremental: the dump in four deliveries, each projected on its own, small batches
    for part in range(4):
        chunk = tmp_path / f"part{part}.jsonl"
        chunk.write_bytes(b"".join(lines[part::4]))
        result = run("replay", "--store", str(store), "--batch-size", "97", str(chunk))
        assert result.exit_code == 0, result.output
    incremental = {table: table_rows(store, table) for table in TABLES}
    assert incremental["rollups"], "the generated dump should produce rollups"

    result = run("rebuild", "--store", str(store))
    assert result.exit_code == 0, result.output
    rebuilt = {table: table_rows(store, table) for table in TABLES}
    for table in TABLES:
        assert rebuilt[table] == incremental[table], table


def test_a_missing_read_model_is_recreated_by_rebuild(tmp_path: Path, generated_dump: Path) -> None:
    store = tmp_path / "store"
    run("replay", "--store", str(store), str(generated_dump))
    before = table_rows(store, "rollups")
    (store / "read-models.sqlite").write_bytes(b"this is not a database")
    broken = run("query", "--store", str(store))
    assert broken.exit_code == 2
    assert "mastery rebuild" in broken.stderr
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert table_rows(store, "rollups") == before


def test_rebuild_reports_the_events_in_the_new_read_models_also_those_another_process_projected(
    tmp_path: Path, generated_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay or a question running beside a rebuild projects batches into the new
    file too: the report is what the read models hold at the end, not this
    process's share (it said 45,000 events of a 48,072-event log)."""
    import orjson

    from projections import catchup
    from replay.jobs import pipeline

    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    connection = sqlite3.connect(store / "log.sqlite")
    (in_log,) = connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    connection.close()

    class Stop(Exception):
        pass

    def stop(_position: int) -> None:
        raise Stop

    real_catch_up = catchup.catch_up

    def another_process_first(log: object, db: object, **options: object) -> int:
        other = catchup.open_read_models(store / "read-models.sqlite")
        try:  # the other process commits one batch of 500 before this one starts
            real_catch_up(log, other, batch_size=500, on_batch=stop)  # type: ignore[arg-type]
        except Stop:
            pass
        finally:
            other.close()
        return real_catch_up(log, db, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "catch_up", another_process_first)
    result = run("rebuild", "--store", str(store), "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["applied_by_this_process"] == in_log - 500
    assert report["events"] == in_log
    assert report["position"] == in_log


def test_rollups_recomputed_in_small_chunks_are_the_same_rows(
    tmp_path: Path, generated_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections import mastery

    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    whole = table_rows(store, "rollups")
    monkeypatch.setattr(mastery, "FINISH_CHUNK", 7)
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert table_rows(store, "rollups") == whole


def test_a_question_finishes_the_rollups_a_follower_left_pending(
    tmp_path: Path, generated_dump: Path
) -> None:
    from projections.catchup import catch_up, has_pending_work, open_read_models
    from replay.store.location import open_store

    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    finished = table_rows(store, "rollups")
    # what a follower does during a large replay: versions applied, rollups deferred
    (store / "read-models.sqlite").unlink()
    opened = open_store(str(store), create=False)
    log, db = opened.open_log(), open_read_models(opened.read_models_path)
    try:
        catch_up(log, db, finish_when_level=False)
        assert has_pending_work(db)
        assert db.execute("SELECT COUNT(*) FROM rollups").fetchone()[0] == 0
    finally:
        db.close()
        log.close()

    asked = run("query", "--store", str(store), "--limit", "1")
    assert asked.exit_code == 0, asked.output
    assert table_rows(store, "rollups") == finished


def test_a_new_read_model_loaded_in_bulk_has_the_rows_of_the_event_by_event_path(
    tmp_path: Path, generated_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rollups, moved results and the change feed alike, with results that move keys."""
    from projections import mastery
    from tests.builders import OTHER_STUDENT, result
    from tests.projections.helpers import replay_events

    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    day = "2025-02-{:02d}T10:00:00Z".format
    replay_events(
        store,
        [
            result("9001", 2, at=day(1)),  # then another student's
            result(
                "9001", 2, at=day(9), user=OTHER_STUDENT, name="learning_outcome_result_updated"
            ),
            result("9002", 3, at=day(2)),  # then without a course
            result(
                "9002", 3, at=day(8), result_context_id=None, name="learning_outcome_result_updated"
            ),
        ],
    )
    compared = (*TABLES, "moved_results", "rollup_changes")

    def rows() -> dict[str, list[tuple[object, ...]]]:
        found = {table: table_rows(store, table) for table in compared}
        # the feed's sequence follows the order rollups were computed in: not compared
        found["rollup_changes"] = sorted((row[1:] for row in found["rollup_changes"]), key=repr)
        return found

    assert run("rebuild", "--store", str(store)).exit_code == 0
    in_bulk = rows()
    assert in_bulk["moved_results"], "two results should span keys"
    monkeypatch.setattr(mastery, "BULK_LOAD_NEW_READ_MODELS", False)
    assert run("rebuild", "--store", str(store)).exit_code == 0
    event_by_event = rows()
    for table in compared:
        assert in_bulk[table] == event_by_event[table], table
