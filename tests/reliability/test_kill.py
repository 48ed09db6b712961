"""SIGKILL at random points, resumed each time: the same log and read models as one
uninterrupted run, nothing lost, nothing doubled. Also for `mastery rebuild`, and
with the kill landing inside a batch being written (of the log, of the read models)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.helpers import (
    assert_same_store,
    generated_dump,
    kill_when,
    logged_events,
    mastery,
    projected_events,
    read_model_rows,
    tracking_position,
)
from tests.replay.helpers import log_contents

KILLS = 20


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 15,000 events: a replay of a few seconds, long enough to kill many times."""
    return generated_dump(tmp_path_factory.mktemp("dump"), students=250, results_per_student=55)


@pytest.fixture(scope="module")
def reference(dump: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("reference") / "store"
    finished = mastery("replay", "--store", str(store), "--batch-size", "500", str(dump))
    assert finished.returncode == 0, finished.stderr
    return store


def killed_after(command: list[str], delay: float) -> bool:
    """Run, SIGKILL after `delay` seconds; whether the kill landed before the end."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return False


def progress(store: Path) -> int:
    """Events logged plus events projected: it grows through a replay's whole run."""
    return logged_events(store) + projected_events(store)


def events_logged(store: Path) -> int:
    """How many events the log holds; 0 when a kill came before its table was made."""
    try:
        return len(log_contents(store)) if (store / "log.sqlite").exists() else 0
    except sqlite3.OperationalError:  # the file exists, its table not yet
        return 0


@pytest.mark.slow
def test_a_replay_killed_20_times_at_random_points_ends_like_one_run(
    tmp_path: Path, dump: Path, reference: Path
) -> None:
    store = tmp_path / "killed"
    command = [sys.executable, "-m", "replay", "replay", "--store", str(store)]
    command += ["--batch-size", "500", str(dump)]
    rng = random.Random(20261127)
    expected_events = len(log_contents(reference))
    step = 2 * expected_events // (KILLS + 5)  # logged + projected: 20 kills along the way
    kills, attempts, growing = 0, 0, 0
    while kills < KILLS and attempts < 2 * KILLS:
        attempts += 1
        target = progress(store) + rng.randint(step // 2, step)
        # killed once the log, then the read models, have passed a random count
        if kill_when(command, lambda target=target: progress(store) >= target):  # type: ignore[misc]
            kills += 1
            growing += logged_events(store) < expected_events
    # a run may end before its moment (a bulk load moves the position in one step)
    assert kills >= KILLS // 2, f"only {kills} of {attempts} runs could be killed"
    assert growing >= 3, "too few kills landed while the log was being written"
    finished = mastery("replay", "--store", str(store), "--batch-size", "500", str(dump))
    assert finished.returncode == 0, finished.stderr
    assert_same_store(store, reference)


@pytest.mark.slow
def test_a_rebuild_killed_midway_is_finished_by_the_next_command(
    tmp_path: Path, dump: Path, reference: Path
) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(reference, store)
    command = [sys.executable, "-m", "replay", "rebuild", "--store", str(store)]
    # kill at random points inside a rebuild's own duration on this machine
    started = time.perf_counter()
    assert mastery("rebuild", "--store", str(store)).returncode == 0
    duration = time.perf_counter() - started
    rng = random.Random(7)
    kills, attempts, scale = 0, 0, 1.0
    while kills < 3 and attempts < 15:
        attempts += 1
        if killed_after(command, rng.uniform(0.3, 0.8) * duration * scale):
            kills += 1
        else:  # the machine is less busy than when `duration` was measured
            scale /= 2
    assert kills >= 3
    # a query after a killed rebuild catches up from where the rebuild stopped ...
    assert tracking_position(store) <= tracking_position(reference)
    queried = mastery("query", "--store", str(store), "--limit", "1")
    assert queried.returncode == 0, queried.stderr
    assert_same_store(store, reference)
    # ... and a rebuild killed again, then run to the end, gives the same rows too.
    assert any(killed_after(command, fraction * duration) for fraction in (0.6, 0.3, 0.15, 0.05))
    finished = mastery("rebuild", "--store", str(store))
    assert finished.returncode == 0, finished.stderr
    assert_same_store(store, reference)


# Kill the process from inside, at the worst moment: the rows of a batch are written
# but the transaction is not committed.
_KILL_IN_LOG_BATCH = """
import os, signal, sys
from replay.store.log import MasterySQLiteRecorder
original = MasterySQLiteRecorder._insert_events
calls = [0]
def insert_then_die(self, cursor, stored_events, **kwargs):
    result = original(self, cursor, stored_events, **kwargs)
    calls[0] += 1
    if calls[0] == int(os.environ["KILL_AT_BATCH"]):
        os.kill(os.getpid(), signal.SIGKILL)
    return result
MasterySQLiteRecorder._insert_events = insert_then_die
from replay.cli.app import main
sys.argv = ["mastery", *sys.argv[1:]]
main()
"""

_KILL_IN_READ_MODEL_BATCH = """
import os, signal, sys
from projections import catchup
last = catchup.PROJECTORS[-1]
original = type(last).apply
calls = [0]
def apply_then_die(self, db, changes):
    original(self, db, changes)
    calls[0] += 1
    if calls[0] == int(os.environ["KILL_AT_BATCH"]):
        os.kill(os.getpid(), signal.SIGKILL)
type(last).apply = apply_then_die
from replay.cli.app import main
sys.argv = ["mastery", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "batches"),
    [(_KILL_IN_LOG_BATCH, (1, 4, 9)), (_KILL_IN_READ_MODEL_BATCH, (1, 2))],
    ids=["log-batch", "read-model-batch"],
)
def test_a_kill_inside_a_batch_being_written_loses_only_that_batch(
    tmp_path: Path, dump: Path, reference: Path, script: str, batches: tuple[int, ...]
) -> None:
    import os

    store = tmp_path / "store"
    args = ["replay", "--store", str(store), "--batch-size", "500", str(dump)]
    for batch in batches:
        died = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "KILL_AT_BATCH": str(batch)},
            timeout=120,
            check=False,
        )
        assert died.returncode == -signal.SIGKILL, died.stderr
        if (store / "read-models.sqlite").exists():  # never a half-applied batch
            rows = read_model_rows(store)
            position = tracking_position(store)
            assert position % 5_000 == 0 or position == len(log_contents(store)), position
            assert (position == 0) == (not rows.get("result_versions"))
    finished = mastery(*args)
    assert finished.returncode == 0, finished.stderr
    assert_same_store(store, reference)


def test_a_killed_replay_leaves_no_parsing_process_behind(tmp_path: Path) -> None:
    """Found by this suite: the forked parsing worker kept its copy of the main
    process's end of the pipe, so after a SIGKILL of the main process it blocked
    forever on a full pipe (and held the caller's stdout and stderr open)."""
    big = generated_dump(tmp_path, students=180, results_per_student=40)  # over 8 MB
    assert big.stat().st_size > 8 * 1024 * 1024
    store = tmp_path / "s"
    command = [sys.executable, "-m", "replay", "replay", "--store", str(store), str(big)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # the moment: the log has its first batches, so the worker is parsing the rest
        while process.poll() is None and events_logged(store) < 1000:
            time.sleep(0.02)
        assert process.poll() is None, "the replay ended before the kill"
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
        assert events_logged(store) < len(big.read_bytes().splitlines())
        assert process.stdout is not None
        drained = threading.Thread(target=process.stdout.read, daemon=True)
        drained.start()  # EOF only once every process holding the pipe has ended
        drained.join(timeout=120)  # a bound on a hang, not a speed: the bug blocked forever
        assert not drained.is_alive(), "a process still holds the replay's output pipe"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
