"""The benchmark runs end to end (a smoke run: it proves it works, not how fast)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from replay.bench import run as bench


@pytest.mark.slow
def test_a_small_benchmark_prints_every_step_its_cpu_per_stage_and_writes_json(
    tmp_path: Path,
) -> None:
    target = tmp_path / "bench.json"
    result = CliRunner().invoke(
        bench.command_line(),
        ["--events", "10000", "--json", str(target), "--workdir", str(tmp_path / "w"), "--no-grid"],
    )
    assert result.exit_code == 0, result.output
    figures = orjson.loads(target.read_bytes())
    steps = [row["step"] for row in figures["steps"]]
    assert any(step.startswith("floor: read") for step in steps)
    assert any(step.startswith("mastery replay") for step in steps)
    assert any(step.startswith("mastery rebuild") for step in steps)
    assert figures["events"] >= 2000
    replay_row = next(row for row in figures["steps"] if row["step"].startswith("mastery replay"))
    assert replay_row["peak_rss_mb"] > 0 and replay_row["ratio_to_append_floor"] > 0
    # 10,000 events (~11 MB) are enough for a replay to run its parser and follower
    # processes, so that each stage has its own figure.
    assert set(replay_row["cpu_us_per_event"]) == {"parser", "appender", "follower", "total"}
    assert all(value > 0 for value in replay_row["cpu_us_per_event"].values())
    rebuild_row = next(row for row in figures["steps"] if row["step"].startswith("mastery rebuild"))
    assert rebuild_row["cpu_us_per_event"]["rebuild"] > 0
    assert "CPU µs/event" in result.output
    point_in_time = figures["point_in_time"]
    assert point_in_time["questions"] > 0
    assert point_in_time["api_p50_ms"] <= point_in_time["api_p99_ms"]
    assert "mastery replay" in result.output
