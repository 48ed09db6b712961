"""Two replays on one store at once, and queries while a replay writes."""

from __future__ import annotations

import subprocess
import sys
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
