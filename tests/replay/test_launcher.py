"""The benchmark's launcher reports a command's own peak memory, not the benchmark's, and
its CPU time by process."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from replay.bench.launcher import Launcher

MB = 1 << 20
USE_200_MB = "b = bytearray(200 * 2**20)\nfor i in range(0, len(b), 4096): b[i] = 1"


@pytest.fixture
def launcher() -> Iterator[Launcher]:
    with Launcher() as started:
        yield started


def test_a_small_command_reports_a_small_peak_however_large_the_caller(
    launcher: Launcher,
) -> None:
    ballast = bytearray(300 * MB)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touched: really resident
    outcome = launcher.run([sys.executable, "-c", "pass"])
    assert outcome["status"] == 0
    assert outcome["max_rss_bytes"] < 100 * MB
    del ballast


def test_a_command_that_uses_memory_reports_it(launcher: Launcher) -> None:
    outcome = launcher.run([sys.executable, "-c", USE_200_MB])
    assert outcome["status"] == 0
    assert outcome["max_rss_bytes"] >= 200 * MB


def test_a_command_with_a_large_stderr_does_not_raise_the_next_ones_peak(
    launcher: Launcher,
) -> None:
    chatty = "import sys\nsys.stderr.write('x' * 200 * 2**20)"
    assert launcher.run([sys.executable, "-c", chatty])["status"] == 0
    assert launcher.run([sys.executable, "-c", "pass"])["max_rss_bytes"] < 100 * MB


def test_a_command_that_cannot_start_is_reported_and_the_launcher_goes_on(
    launcher: Launcher,
) -> None:
    outcome = launcher.run(["/no/such/program"])
    assert outcome["status"] == -1
    assert "No such file" in outcome["stderr"]
    assert launcher.run([sys.executable, "-c", "pass"])["status"] == 0


def test_a_failing_command_reports_its_status_and_error(launcher: Launcher) -> None:
    outcome = launcher.run([sys.executable, "-c", "raise SystemExit('no such store')"])
    assert outcome["status"] != 0
    assert "no such store" in outcome["stderr"]


NAMED_CHILD_BURNS_CPU = """
import multiprocessing, time
from replay.ingest.process_name import name_this_process

def burn():
    name_this_process("burner")
    while time.process_time() < 0.5:
        pass

child = multiprocessing.get_context("fork").Process(target=burn)
child.start()
child.join()
"""


def test_a_named_child_process_has_its_own_cpu_share_and_the_shares_add_up(
    launcher: Launcher,
) -> None:
    outcome = launcher.run([sys.executable, "-c", NAMED_CHILD_BURNS_CPU])

    assert outcome["status"] == 0, outcome["stderr"]
    cpu = outcome["cpu_seconds"]
    # The child used 0.5 s; what it used after the launcher's last look counts as main's.
    assert cpu["burner"] > 0.2
    assert cpu["main"] >= 0
    assert abs(cpu["burner"] + cpu["main"] - cpu["total"]) < 0.01
