"""The live-intake benchmark runs end to end (a smoke run: it proves it works, not how fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_small_serve_benchmark_reports_rates_latencies_cpu_and_memory(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "replay.bench.serve", "--events", "300", "--clients", "8"),
            *("--offered", "100", "--offered-seconds", "2", "--workdir", str(tmp_path)),
        ],
        cwd=ROOT,
        capture_output=True,
        check=False,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = orjson.loads(done.stdout)
    saturation, offered = report["saturation"], report["offered"]
    assert saturation["statuses"] == {"200": 300}
    assert offered["statuses"] == {"200": offered["events"]} and offered["events"] == 200
    assert 0 < saturation["p50_ms"] <= saturation["p99_ms"]
    assert saturation["server_cpu_us_per_event"] > 0
    memory = report["server_rss_mb"]
    assert memory["peak"] > 0
    assert memory["offered_children"]["first_tenth_max"] > 0  # the follower's process
    assert report["replay_of_the_dump"]["events"] == report["events_in_dump"]
