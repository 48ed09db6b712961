"""Comparing whole stores: the log as a set of events, every read-model table row for row."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.replay.helpers import log_contents, versions_are_contiguous

# Columns that differ between two correct runs of the same dump: when it was recorded
# (wall-clock time of the batch), and where (log positions follow batch boundaries).
VARYING_COLUMNS = {"recorded_at", "position", "caused_by_position"}
# The feed's sequence and epoch depend on how the work was cut into batches and on
# the rebuild that made the file; its contract is tested in tests/replay/test_change_feed.py.
SKIPPED_TABLES = {"meta", "rollup_changes", "tracking"}


def generated_dump(directory: Path, *, students: int, results_per_student: int) -> Path:
    path = directory / "generated.jsonl"
    settings = GeneratorSettings(
        students=students,
        outcomes=6,
        results_per_student=results_per_student,
        seed=23,
        duplicates=0.05,
        shuffle_seconds=86400,
        legacy=0.01,
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    return path


def read_model_rows(store: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every read-model table, its rows sorted, without the columns that may vary."""
    connection = sqlite3.connect(f"{(store / 'read-models.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        found = {}
        for table in sorted(set(tables) - SKIPPED_TABLES):
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            kept = [c for c in columns if c not in VARYING_COLUMNS]
            if table == "context_accounts":
                kept = [c for c in kept if c != "event_time"]  # the first event that told
            rows = connection.execute(f"SELECT {', '.join(kept)} FROM {table}").fetchall()
            found[table] = sorted(rows, key=repr)
        return found
    finally:
        connection.close()


def tracking_position(store: Path) -> int:
    with sqlite3.connect(store / "read-models.sqlite") as connection:
        row = connection.execute("SELECT position FROM tracking").fetchone()
    return int(row[0]) if row else 0


def assert_same_store(store: Path, reference: Path) -> None:
    """The log holds the same events, each once, and every read model has the same rows."""
    assert log_contents(store) == log_contents(reference), "the log differs"
    assert versions_are_contiguous(store)
    expected, found = read_model_rows(reference), read_model_rows(store)
    assert found.keys() == expected.keys()
    for table in expected:
        assert found[table] == expected[table], f"read-model table {table} differs"
    assert found["rollups"], "the dump should produce rollups"
    assert found.get("rollups_pending", []) == []
    verified = mastery("verify", "--store", str(store), "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def mastery(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real command line in its own process (`python -m replay`)."""
    return subprocess.run(
        [sys.executable, "-m", "replay", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "1000"},  # messages on one line, whole
    )


def logged_events(store: Path) -> int:
    """How many events a store's log holds now; 0 before its table exists."""
    return _count(store / "log.sqlite", "SELECT COUNT(*) FROM stored_events")


def projected_events(store: Path) -> int:
    """The read models' tracked position now; 0 before they exist."""
    return _count(store / "read-models.sqlite", "SELECT MAX(position) FROM tracking")


def _count(database: Path, sql: str) -> int:
    if not database.exists():
        return 0
    try:  # read-only: never creates the file, never takes a write lock
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            row = connection.execute(sql).fetchone()
        finally:
            connection.close()
    except sqlite3.OperationalError:  # the file exists, its table not yet
        return 0
    return int(row[0] or 0) if row else 0


def kill_when(command: list[str], ready: Callable[[], bool], *, hang: float = 240) -> bool:
    """Run `command`, SIGKILL it at the moment `ready()` is first seen true.

    True when the kill landed (the process died of it), False when the process ended
    on its own first (then successfully). No sleep decides the moment: `ready` is
    polled, and `hang` only bounds a process that neither gets ready nor ends.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    give_up = time.monotonic() + hang
    try:
        while process.poll() is None:
            if ready():
                process.send_signal(signal.SIGKILL)
                break
            if time.monotonic() > give_up:
                raise AssertionError(f"neither ready nor finished: {command}")
            time.sleep(0.02)
        process.wait()
        stderr = process.stderr.read().decode() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
    if process.returncode == -signal.SIGKILL:
        return True
    assert process.returncode == 0, stderr
    return False


def log_reaches(store: Path, events: int) -> Callable[[], bool]:
    """A moment for `kill_when`: the store's log holds at least `events` events."""
    return lambda: logged_events(store) >= events
