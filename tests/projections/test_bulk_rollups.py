"""The end of a bulk load shares the students with a helper process, with the same rows."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projections import bulk_rollups
from tests.builders import OTHER_STUDENT, result
from tests.projections.helpers import replay_events
from tests.projections.test_rebuild import TABLES, generated_dump, table_rows
from tests.replay.helpers import run

__all__ = ["generated_dump"]  # the module's fixture, used here

COMPARED = (*TABLES, "moved_results")


def feed_rows(store: Path) -> list[tuple[object, ...]]:
    """The change feed without its numbers: a bulk load numbers its rows chunk by chunk."""
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        return sorted(
            (row[1:] for row in connection.execute("SELECT * FROM rollup_changes")), key=repr
        )
    finally:
        connection.close()


def bulk_loading(store: Path) -> bool:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        return (
            connection.execute("SELECT 1 FROM meta WHERE key = 'bulk_load'").fetchone() is not None
        )
    finally:
        connection.close()


@pytest.fixture
def store(tmp_path: Path, generated_dump: Path) -> Path:
    """A store with results whose versions span keys, in both halves of the students."""
    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    day = "2025-02-{:02d}T10:00:00Z".format
    replay_events(
        store,
        [
            result("9001", 2, at=day(1)),
            result(
                "9001", 2, at=day(9), user=OTHER_STUDENT, name="learning_outcome_result_updated"
            ),
            result("9002", 3, at=day(2)),
            result(
                "9002", 3, at=day(8), result_context_id=None, name="learning_outcome_result_updated"
            ),
        ],
    )
    return store


def test_rollups_shared_with_a_helper_process_are_the_rows_of_one(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("rebuild", "--store", str(store)).exit_code == 0
    alone = {table: table_rows(store, table) for table in COMPARED}
    alone_feed = feed_rows(store)
    assert alone["moved_results"], "results should span keys"

    helpers: list[bulk_rollups.Students] = []
    original = bulk_rollups.Helper.__init__

    def counted(self: bulk_rollups.Helper, db: object, students: bulk_rollups.Students) -> None:
        helpers.append(students)
        original(self, db, students)  # type: ignore[arg-type]

    monkeypatch.setattr(bulk_rollups, "HELPER_FROM_VERSIONS", 0)
    monkeypatch.setattr(bulk_rollups.Helper, "__init__", counted)
    assert run("rebuild", "--store", str(store)).exit_code == 0

    assert len(helpers) == 1 and helpers[0].first, "a helper should take the upper half"
    assert {table: table_rows(store, table) for table in COMPARED} == alone
    assert feed_rows(store) == alone_feed


def test_a_replays_projection_process_shares_the_end_of_its_load_with_a_helper_too(
    tmp_path: Path, generated_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large replay ends its bulk load in its follower process, which starts the helper."""
    from replay.ingest import parsing

    started = tmp_path / "helper-started"
    original = bulk_rollups.Helper.__init__

    def noted(self: bulk_rollups.Helper, db: object, students: bulk_rollups.Students) -> None:
        original(self, db, students)  # type: ignore[arg-type]
        started.touch()  # the follower is a forked process: a file says it got here

    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0)  # three processes
    monkeypatch.setattr(bulk_rollups, "HELPER_FROM_VERSIONS", 0)
    monkeypatch.setattr(bulk_rollups.Helper, "__init__", noted)
    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(generated_dump)).exit_code == 0
    assert started.exists() and not bulk_loading(store)
    shared = {table: table_rows(store, table) for table in COMPARED}, feed_rows(store)

    monkeypatch.undo()
    assert run("rebuild", "--store", str(store)).exit_code == 0
    assert ({table: table_rows(store, table) for table in COMPARED}, feed_rows(store)) == shared


def test_a_helper_that_fails_leaves_the_load_to_the_next_pass(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("rebuild", "--store", str(store)).exit_code == 0
    alone = {table: table_rows(store, table) for table in COMPARED}

    monkeypatch.setattr(bulk_rollups, "HELPER_FROM_VERSIONS", 0)
    # The spawned helper calls sys.exit with four arguments: a TypeError, exit code 1.
    monkeypatch.setattr(bulk_rollups, "_compute_into", sys.exit)
    with pytest.raises(RuntimeError, match="computing rollups failed"):
        run("rebuild", "--store", str(store))
    assert bulk_loading(store), "the mark should stay for the next pass"
    assert table_rows(store, "rollups") == []

    monkeypatch.undo()
    asked = run("query", "--store", str(store), "--limit", "1")
    assert asked.exit_code == 0, asked.output
    assert not bulk_loading(store)
    assert {table: table_rows(store, table) for table in COMPARED} == alone


# The writer is killed as soon as its helper has started: the helper must notice, stop
# and remove its file, and the next command must finish the load.
_KILL_AFTER_HELPER_STARTS = """
import os, signal, sys
from projections import bulk_rollups
bulk_rollups.HELPER_FROM_VERSIONS = 0
started = bulk_rollups.Helper.__init__
def start_then_die(self, db, students):
    started(self, db, students)
    os.kill(os.getpid(), signal.SIGKILL)
bulk_rollups.Helper.__init__ = start_then_die
from replay.cli.app import main
sys.argv = ["mastery", *sys.argv[1:]]
main()
"""


def helpers_running() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == bulk_rollups.HELPER_NAME:
                    found.append(entry.name)
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/comm").exists(), reason="needs Linux's /proc")
def test_a_writer_killed_while_its_helper_works_leaves_no_helper_and_no_file(
    store: Path, tmp_path: Path
) -> None:
    assert run("rebuild", "--store", str(store)).exit_code == 0
    alone = {table: table_rows(store, table) for table in COMPARED}
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    killed = subprocess.run(
        [sys.executable, "-c", _KILL_AFTER_HELPER_STARTS, "rebuild", "--store", str(store)],
        env={**os.environ, "TMPDIR": str(temporary)},
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    deadline = time.monotonic() + 30
    while (helpers_running() or list(temporary.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert helpers_running() == []
    assert list(temporary.iterdir()) == []
    assert bulk_loading(store)

    asked = run("query", "--store", str(store), "--limit", "1")
    assert asked.exit_code == 0, asked.output
    assert {table: table_rows(store, table) for table in COMPARED} == alone
