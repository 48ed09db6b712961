"""The read-model follower runs in a child process of the server: it is started again
when it dies, and it does not outlive a server killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.server.support import CLIENT, ServeProcess, server_in_thread
from tests.server.test_equivalence import dump_lines


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie has ended, only not been reaped


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_a_follower_process_that_dies_is_started_again_and_catches_up(tmp_path: Path) -> None:
    lines = dump_lines()[:60]
    with server_in_thread(tmp_path / "store", accept_unsigned=True) as (base, live):
        for line in lines[:30]:
            assert CLIENT.post(f"{base}/events", content=line).status_code == 200
        first = live.follower.pid
        assert first is not None and first != os.getpid()
        _wait_for(lambda: live.follower.lag is not None, "a first report")

        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: live.follower.pid not in (None, first), "another follower process")
        for line in lines[30:]:
            assert CLIENT.post(f"{base}/events", content=line).status_code == 200
        head = live.intake.counts.appended

        def level() -> bool:
            lag = live.follower.lag
            return lag is not None and lag.events == 0 and lag.position >= head

        _wait_for(level, "the new follower to catch up")
        assert CLIENT.get(f"{base}/readyz").status_code == 200


def test_the_follower_process_ends_with_a_server_killed_by_sigkill(tmp_path: Path) -> None:
    server = ServeProcess(str(tmp_path / "store"), "--accept-unsigned").start()
    assert server.process is not None
    for line in dump_lines()[:20]:
        assert CLIENT.post(f"{server.base}/events", content=line).status_code == 200
    children = _children(server.process.pid)
    assert children, "the server runs its follower in a child process"
    server.kill()
    _wait_for(lambda: not any(_alive(child) for child in children), "the children to end")
