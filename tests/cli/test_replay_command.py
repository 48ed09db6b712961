"""What `mastery replay` tells its user: where the quarantine is, the time, Ctrl-C."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import orjson
import pytest

from tests.replay.helpers import run
from tests.replay.logs import generated_dump, mastery

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


@pytest.fixture
def dump_with_a_bad_line(tmp_path: Path) -> Path:
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(SAMPLE.read_bytes() + b'{"not json\n')
    return dump


def test_a_replay_that_quarantined_lines_says_how_to_see_them(
    tmp_path: Path, dump_with_a_bad_line: Path
) -> None:
    store = tmp_path / "store"
    result = run("replay", "--store", str(store), str(dump_with_a_bad_line))
    assert result.exit_code == 0
    assert f"1 line quarantined: see them with `mastery quarantine --store {store}`" in (
        result.stderr
    )


def test_fail_on_quarantine_makes_quarantined_lines_exit_3(
    tmp_path: Path, dump_with_a_bad_line: Path
) -> None:
    store = str(tmp_path / "store")
    assert run("replay", "--store", store, "--fail-on-quarantine", str(SAMPLE)).exit_code == 0
    result = run("replay", "--store", store, "--fail-on-quarantine", str(dump_with_a_bad_line))
    assert result.exit_code == 3


def test_the_replay_summary_times_the_whole_command(tmp_path: Path) -> None:
    result = run("replay", "--store", str(tmp_path / "store"), "--json", str(SAMPLE))
    summary = orjson.loads(result.stdout)
    assert 0 < summary["append_seconds"] <= summary["elapsed_seconds"]
    assert summary["events_per_second"] == pytest.approx(
        summary["read"] / summary["elapsed_seconds"], rel=0.01
    )


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run("replay", "--store", store, str(SAMPLE))
    result = run("query", "--store", store, "--course", "601", "--limit", "1")
    assert "1 rollup\n" in result.stdout or "1 rollup " in result.stdout
    assert "1 rollups" not in result.stdout


def test_every_generate_option_says_what_it_does() -> None:
    help_text = run("generate", "--help").stdout
    for option in (
        "--students",
        "--outcomes",
        "--results-per-student",
        "--seed",
        "--duplicates",
        "--shuffle-seconds",
        "--legacy",
        "--courses",
    ):
        line = next(line for line in help_text.splitlines() if option in line)
        assert len(line.split(option, 1)[1].strip(" │")) > 12, line


@pytest.mark.slow
def test_ctrl_c_during_a_replay_says_what_was_stored_and_how_to_finish(tmp_path: Path) -> None:
    dump = generated_dump(tmp_path / "dump.jsonl", students=400, results_per_student=120, seed=4)
    store = tmp_path / "store"
    replay = mastery("replay", "--store", str(store), str(dump))
    deadline = time.monotonic() + 120
    while _logged(store) == 0:  # interrupt once a batch is surely stored
        assert replay.poll() is None and time.monotonic() < deadline, "the replay ended first"
        time.sleep(0.05)
    replay.send_signal(signal.SIGINT)
    _, stderr = replay.communicate(timeout=120)
    assert replay.returncode == 130
    message = stderr.decode()
    assert "interrupted:" in message and "run the same command again" in message
    stored = int(message.split("interrupted: ")[1].split(" events")[0].replace(",", ""))
    assert 0 < stored <= _logged(store)


def _logged(store: Path) -> int:
    try:
        connection = sqlite3.connect(f"file:{store / 'log.sqlite'}?mode=ro", uri=True)
        try:
            return int(connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.OperationalError:
        return 0
