"""`mastery verify` finds damage in the log and read models that are ahead of it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest

from projections.catchup import ReadModelError, open_read_models
from projections.schema import other_format_problem
from replay.jobs.pipeline import open_feed
from tests.replay.helpers import replay_json, run

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("verify") / "store"
    replay_json(store, SAMPLE)
    return store


def copy_of(store: Path, target: Path) -> Path:
    shutil.copytree(store, target)
    return target


def verify_json(store: Path) -> tuple[int, dict[str, object]]:
    result = run("verify", "--store", str(store), "--json")
    return result.exit_code, orjson.loads(result.stdout)


def test_a_healthy_store_verifies_with_exit_code_0(sample_store: Path) -> None:
    code, report = verify_json(sample_store)
    assert code == 0
    assert report["ok"] is True
    assert report["events"] == report["last_position"] == report["read_model_position"]
    assert report["read_models"] == "level"


def test_garbage_in_one_stored_state_is_found_and_named(sample_store: Path, tmp_path: Path) -> None:
    store = copy_of(sample_store, tmp_path / "damaged")
    with sqlite3.connect(store / "log.sqlite") as connection:
        connection.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 17", [b"\x28\xb5\x2f\xfdgarbage"]
        )
    code, report = verify_json(store)
    assert code == 1
    assert report["problem_count"] == 1
    assert "log position 17" in str(report["problems"]) and "does not decode" in str(
        report["problems"]
    )


def test_a_missing_event_makes_versions_not_contiguous(sample_store: Path, tmp_path: Path) -> None:
    store = copy_of(sample_store, tmp_path / "gap")
    with sqlite3.connect(store / "log.sqlite") as connection:
        (aggregate,) = connection.execute(
            "SELECT originator_id FROM stored_events GROUP BY originator_id "
            "HAVING count(*) >= 2 LIMIT 1"
        ).fetchone()
        connection.execute(
            "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 1",
            [aggregate],
        )
    code, report = verify_json(store)
    assert code == 1
    assert "not contiguous" in str(report["problems"])


def test_an_event_that_names_no_entity_is_reported(sample_store: Path, tmp_path: Path) -> None:
    from replay.store.compression import StateCompressor

    store = copy_of(sample_store, tmp_path / "nameless")
    compressor = StateCompressor()
    with sqlite3.connect(store / "log.sqlite") as connection:
        (state,) = connection.execute("SELECT state FROM stored_events WHERE rowid = 5").fetchone()
        event = orjson.loads(compressor.decompress(state))
        event["canvas_id"] = ""
        connection.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 5",
            [compressor.compress(orjson.dumps(event))],
        )
    code, report = verify_json(store)
    assert code == 1
    assert "names no entity (no canvas_id)" in str(report["problems"])


def test_read_models_ahead_of_the_log_are_an_error(sample_store: Path, tmp_path: Path) -> None:
    store = copy_of(sample_store, tmp_path / "ahead")
    with sqlite3.connect(store / "read-models.sqlite") as connection:
        connection.execute("UPDATE tracking SET position = position + 100")
    code, report = verify_json(store)
    assert code == 1
    assert report["read_models"] == "ahead"
    assert "mastery rebuild" in str(report["problems"])
    # ... and rebuild is the cure.
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert verify_json(store)[0] == 0


def test_read_models_behind_the_log_are_only_a_note(sample_store: Path, tmp_path: Path) -> None:
    store = copy_of(sample_store, tmp_path / "behind")
    with sqlite3.connect(store / "read-models.sqlite") as connection:
        connection.execute("UPDATE tracking SET position = 10")
    code, report = verify_json(store)
    assert code == 0
    assert report["read_models"] == "behind"
    assert "behind" in str(report["notes"])


def test_read_models_in_another_format_say_the_same_everywhere(
    sample_store: Path, tmp_path: Path
) -> None:
    store = copy_of(sample_store, tmp_path / "other-format")
    path = store / "read-models.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    expected = other_format_problem(path, 1)
    assert expected.endswith("run `mastery rebuild`")
    code, report = verify_json(store)
    assert code == 1
    assert report["read_models"] == "other-format"
    assert report["problems"] == [expected]
    for opening in (open_read_models, open_feed):  # to project, and to read only
        with pytest.raises(ReadModelError) as raised:
            opening(path)
        assert str(raised.value) == expected
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert verify_json(store)[0] == 0


def test_a_corrupt_read_model_file_is_reported_and_rebuilt(
    sample_store: Path, tmp_path: Path
) -> None:
    store = copy_of(sample_store, tmp_path / "corrupt")
    (store / "read-models.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (store / f"read-models.sqlite{suffix}").unlink(missing_ok=True)
    code, report = verify_json(store)
    assert code == 1
    assert report["read_models"] == "damaged"
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert verify_json(store)[0] == 0


def test_verify_without_a_store_exits_2(tmp_path: Path) -> None:
    result = run("verify", "--store", str(tmp_path / "nothing"))
    assert result.exit_code == 2
    assert "no store at" in result.stderr


def test_the_table_output_lists_the_problems(sample_store: Path, tmp_path: Path) -> None:
    store = copy_of(sample_store, tmp_path / "table")
    with sqlite3.connect(store / "log.sqlite") as connection:
        connection.execute("UPDATE stored_events SET state = x'00' WHERE rowid = 3")
    result = run("verify", "--store", str(store))
    assert result.exit_code == 1
    assert "problem: log position 3" in result.stderr
    assert "1 problem(s) found" in result.stderr
