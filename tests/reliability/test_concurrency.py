"""Two replays on one store at once, and queries while a replay writes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.reliability.helpers import assert_same_store, mastery
from tests.replay.helpers import log_contents


def dump(directory: Path, seed: int, students: int) -> Path:
    path = directory / f"dump-{seed}.jsonl"
    settings = GeneratorSettings(
        students=students, outcomes=5, results_per_student=20, seed=seed, duplicates=0.05
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    return path


@pytest.mark.slow
def test_two_replays_at_once_both_succeed_and_the_log_holds_both_once(tmp_path: Path) -> None:
    first, second = dump(tmp_path, 1, 150), dump(tmp_path, 2, 150)
    reference = tmp_path / "reference"
    for path in (first, second):
        assert mastery("replay", "--store", str(reference), str(path)).returncode == 0

    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(first), "--batch-size", "1").returncode == 0
    # the same two dumps (overlapping aggregates: the same worlds' entities) at once
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "replay",
                "replay",
                "--store",
                str(store),
                "--batch-size",
                "200",
                str(path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (second, first, second)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    assert log_contents(store) == log_contents(reference)  # each event exactly once
    assert_same_store(store, reference)


def _hold_the_read_models_write_lock(store: Path, seconds: float) -> threading.Thread:
    """Another writer: BEGIN IMMEDIATE on the read models, held for `seconds`."""
    locked = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(store / "read-models.sqlite", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(10)
    return holder


@pytest.mark.slow
def test_a_replay_waits_for_a_write_lock_held_30_seconds_and_succeeds(tmp_path: Path) -> None:
    """SQLite's default gave up after 5 s with `database is locked`."""
    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(dump(tmp_path, 5, 5))).returncode == 0
    holder = _hold_the_read_models_write_lock(store, 30)
    started = time.monotonic()
    replay = mastery("replay", "--store", str(store), "--json", str(dump(tmp_path, 6, 5)))
    waited = time.monotonic() - started
    holder.join()
    assert replay.returncode == 0, replay.stderr
    assert orjson.loads(replay.stdout)["appended"] > 0
    assert waited >= 25
    assert "waiting for the write lock" not in replay.stderr  # not a terminal: quiet


def test_a_writer_waiting_for_the_lock_says_so_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from projections import write_lock
    from projections.catchup import catch_up
    from replay.jobs.pipeline import open_read_side
    from replay.store.location import open_store

    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(dump(tmp_path, 7, 3))).returncode == 0
    opened = open_store(str(store), create=False)
    db = open_read_side(opened)
    db.conn.execute("PRAGMA busy_timeout = 200")  # a short slice, so the test is quick
    monkeypatch.setattr(write_lock, "_on_terminal", lambda: True)
    holder = _hold_the_read_models_write_lock(store, 1.5)
    log = opened.open_log()
    try:
        assert catch_up(log, db) == 0
    finally:
        log.close()
        db.close()
    holder.join()
    assert "waiting for the write lock of the read models" in capsys.readouterr().err


def test_a_writer_gives_up_after_the_bound_naming_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from projections import write_lock

    monkeypatch.setattr(write_lock, "WAIT_SECONDS", 0.5)
    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(dump(tmp_path, 8, 3))).returncode == 0
    holder = _hold_the_read_models_write_lock(store, 2)
    connection = sqlite3.connect(store / "read-models.sqlite", isolation_level=None, timeout=0.1)
    with pytest.raises(write_lock.WriteLockTimeout, match="held the write lock"):
        write_lock.begin_immediate(connection)
    connection.close()
    holder.join()


@pytest.mark.slow
def test_queries_during_a_replay_see_whole_batches(tmp_path: Path) -> None:
    path = dump(tmp_path, 3, 300)
    store = tmp_path / "store"
    assert mastery("replay", "--store", str(store), str(dump(tmp_path, 4, 5))).returncode == 0
    replay = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "replay",
            "replay",
            "--store",
            str(store),
            "--batch-size",
            "100",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    answers = 0
    try:
        while replay.poll() is None:
            queried = mastery("query", "--store", str(store), "--format", "json", timeout=120)
            assert queried.returncode == 0, queried.stderr
            orjson.loads(queried.stdout)
            verified = mastery("verify", "--store", str(store), "--json", timeout=120)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            report = orjson.loads(verified.stdout)
            assert report["read_models"] in {"level", "behind"}
            # every position the read models claim is a whole batch of the log
            assert report["read_model_position"] <= report["last_position"]
            answers += 1
            time.sleep(0.1)
    finally:
        replay.wait(timeout=300)
    assert replay.returncode == 0
    assert answers >= 1
    assert log_contents(store)
