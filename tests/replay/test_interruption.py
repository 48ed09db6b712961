"""A replay killed at any point and run again gives the log an uninterrupted run gives."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from replay.ingest.ingestor import Ingestor
from replay.ingest.sources import DumpReader, RawRecord
from replay.store.location import open_store
from replay.store.quarantine import Quarantine
from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.reliability.helpers import kill_when, log_reaches
from tests.replay.helpers import log_contents, replay_json, versions_are_contiguous


def generated(directory: Path, students: int, results_per_student: int) -> Path:
    path = directory / "generated.jsonl"
    settings = GeneratorSettings(
        students=students,
        outcomes=6,
        results_per_student=results_per_student,
        seed=11,
        duplicates=0.05,
        shuffle_seconds=86400,
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    return path


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 1,100 events."""
    return generated(tmp_path_factory.mktemp("dump"), students=60, results_per_student=15)


@pytest.fixture(scope="module")
def big_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 30,000 events: a replay long enough to be killed several times."""
    return generated(tmp_path_factory.mktemp("big"), students=400, results_per_student=70)


def interrupted_after(records: Iterator[RawRecord], count: int) -> Iterator[RawRecord]:
    for index, record in enumerate(records):
        if index == count:
            raise KeyboardInterrupt
        yield record


def rollup_rows(store: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        return sorted(connection.execute("SELECT * FROM rollups").fetchall(), key=repr)
    finally:
        connection.close()


@pytest.mark.parametrize("stop_after", [1, 499, 777, 1_001])
def test_an_interrupted_replay_run_again_ends_with_the_same_log(
    tmp_path: Path, dump: Path, stop_after: int
) -> None:
    reference = tmp_path / "reference"
    replay_json(reference, dump)

    store = open_store(str(tmp_path / "interrupted"), create=True)
    log = store.open_log()
    quarantine = Quarantine(store.quarantine_path)
    with pytest.raises(KeyboardInterrupt):
        Ingestor(log, quarantine, batch_size=500).ingest(
            interrupted_after(iter(DumpReader([str(dump)])), stop_after)
        )
    log.close()
    quarantine.close()
    assert len(log_contents(store.root)) <= stop_after  # the open batch was not stored

    again = replay_json(store.root, dump)
    assert again["appended"] + again["duplicates"] == again["read"]
    assert log_contents(store.root) == log_contents(reference)
    assert versions_are_contiguous(store.root)
    assert rollup_rows(store.root) == rollup_rows(reference)


@pytest.mark.slow
def test_a_replay_killed_with_sigkill_resumes_without_loss_or_doubles(
    tmp_path: Path, big_dump: Path
) -> None:
    dump = big_dump
    reference = tmp_path / "reference"
    replay_json(reference, dump)
    expected = log_contents(reference)

    store = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "replay",
        "replay",
        "--store",
        str(store),
        "--batch-size",
        "300",
        str(dump),
    ]
    kills = 0
    for fraction in (0.1, 0.3, 0.5, 0.7):  # killed once the log holds that much of it
        wanted = int(fraction * len(expected))
        kills += kill_when(command, log_reaches(store, wanted))
    assert kills > 0, "the replay finished before it could be killed: use a larger dump"
    finished = subprocess.run(command, capture_output=True, check=False)
    assert finished.returncode == 0, finished.stderr.decode()
    assert log_contents(store) == expected
    assert versions_are_contiguous(store)
    assert rollup_rows(store) == rollup_rows(reference)
