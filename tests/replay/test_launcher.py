"""The benchmark's launcher reports a command's own peak memory, not the benchmark's."""

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


# A parent holds 150 MB, then its forked child 150 MB more, for a second: the child, the
# largest process, has 300 MB resident (the parent's pages count in it too), the two
# together 450 MB.
TWO_PROCESSES_OF_150_MB = """
import os, time
b = bytearray(150 * 2**20)
for i in range(0, len(b), 4096): b[i] = 1
child = os.fork()
if child == 0:
    c = bytearray(150 * 2**20)
    for i in range(0, len(c), 4096): c[i] = 1
    time.sleep(1.0)
    os._exit(0)
time.sleep(1.0)
os.waitpid(child, 0)
"""


def test_the_summed_peak_counts_every_process_of_the_command(launcher: Launcher) -> None:
    outcome = launcher.run([sys.executable, "-c", TWO_PROCESSES_OF_150_MB])
    assert outcome["status"] == 0
    assert 280 * MB <= outcome["max_rss_bytes"] < 400 * MB
    assert outcome["max_rss_sum_bytes"] >= outcome["max_rss_bytes"] + 120 * MB
    by_process = outcome["peak_rss_mb_by_process"]  # the child, by what `comm` it has
    assert by_process.pop("main") >= 150 and max(by_process.values()) >= 280


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


BURN_IN_A_NAMED_CHILD = """
import multiprocessing, time
from replay.process_name import name_this_process

def burn():
    name_this_process("mastery-test")
    end = time.process_time() + 0.6
    while time.process_time() < end:
        pass

child = multiprocessing.get_context("fork").Process(target=burn)
child.start()
child.join()
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
"""


def test_cpu_time_is_reported_by_the_name_each_process_gave_itself(launcher: Launcher) -> None:
    outcome = launcher.run([sys.executable, "-c", BURN_IN_A_NAMED_CHILD])
    assert outcome["status"] == 0, outcome["stderr"]
    by_process = outcome["cpu_by_process"]
    assert set(by_process) == {"mastery-test", "main"}, by_process
    # its 0.6 s, read while it ran: the last slice before it ended goes to "main"
    assert 0.1 < by_process["mastery-test"] <= 0.8
    assert by_process["main"] >= 0.3  # the rest of the command's CPU, its own 0.3 s with it
    assert abs(sum(by_process.values()) - outcome["cpu_seconds"]) < 0.02
