"""The read models of a serving process kept level with the log, within ~`poll_interval`.

The follower runs in a child process of its own, not in a thread of the server: the
server is bound by one interpreter lock, and at saturation the follower (catching up,
rolling up the keys each batch touched) held over a quarter of it (per-thread CPU of
the server, README Performance). In its own process it takes the machine's other
core and leaves the lock to answering and appending. It reports its lag back over a
pipe, for `/readyz` and `/metrics`.

The child ends with its parent: it is asked to stop (it finishes the batch in hand,
whose position is committed with it, so nothing is applied twice), and it also
watches its parent's pid, so a server killed with SIGKILL leaves no follower behind
to compete with the next one. `in_process=True` keeps the thread, for tests that
look inside one process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

from replay.jobs.follow import Follower, Lag, prepare_read_models
from replay.process_name import LIVE_FOLLOWER, name_this_process
from replay.store.location import Store

log = logging.getLogger("mastery.intake")

FOLLOWER_CACHE_MB = 8
"""The live follower's SQLite page cache for the read models (catch_up's default is
64 MB, for bulk work): it filled over the first minutes and looked like growth."""

LIVE_FINISH_CHUNK = 250
"""Rollups the live follower recomputes together (a replay: 2,000). An outcome or a
course changed in Canvas recomputes all its rollups; in chunks of 2,000 the follower's
memory rose in steps over a 10-minute run (81 to 115 MB) and stayed there; in chunks
of 250 it levels off a third lower, for ~20% more of the follower's CPU in those
recomputes (README Performance)."""

_PARENT_CHECK_SECONDS = 0.5
_STOP_SECONDS = 30.0


class _FollowLoop:
    """Follower.run again and again, with backoff, until stopped: the same in a thread
    of the server or in the child process."""

    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float,
        page_cache_mb: int,
        on_report: Callable[[Lag], None],
        on_error: Callable[[str], None],
    ) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self.page_cache_mb = page_cache_mb
        self.on_report = on_report
        self.on_error = on_error
        self._stop = threading.Event()
        self._follower: Follower | None = None

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.stop()

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            self._follower = Follower(
                self.store,
                poll_interval=self.poll_interval,
                report_every=1.0,
                on_report=self.on_report,
                page_cache_mb=self.page_cache_mb,
                finish_chunk=LIVE_FINISH_CHUNK,
            )
            if self._stop.is_set():
                return
            try:
                self._follower.run()
                backoff = 0.5
            except Exception as error:  # not transient for Follower: note it, try again
                message = " ".join(str(error).split()) or type(error).__name__
                self.on_error(message)
                log.warning(
                    "the read-model follower failed: %s (again in %.1f s)", message, backoff
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)


def _follow_in_child(
    store: Store,
    poll_interval: float,
    page_cache_mb: int,
    reports: Connection,
    stop: ProcessEvent,
    parent_pid: int,
) -> None:
    """The child's whole life: follow, send each lag report, end with the parent.

    Ctrl-C and a service manager's SIGTERM reach every process of the group; the
    child leaves them to its parent, which stops it once the intake has committed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    name_this_process(LIVE_FOLLOWER)

    def send(message: tuple[Lag | None, str | None]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the parent is gone: we end soon
            reports.send(message)

    loop = _FollowLoop(
        store,
        poll_interval=poll_interval,
        page_cache_mb=page_cache_mb,
        on_report=lambda lag: send((lag, lag.error)),
        on_error=lambda message: send((None, message)),
    )

    def watch() -> None:
        while not stop.wait(_PARENT_CHECK_SECONDS):
            if os.getppid() != parent_pid:
                break
        loop.stop()

    threading.Thread(target=watch, name="mastery-follow-watch", daemon=True).start()
    loop.run()


class LiveFollower:
    """The read models kept level with the log in the background; `lag` is the last report."""

    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float = 0.2,
        page_cache_mb: int = FOLLOWER_CACHE_MB,
        in_process: bool = False,
    ) -> None:
        self.store = store
        self.page_cache_mb = page_cache_mb
        self.poll_interval = poll_interval
        self.in_process = in_process
        self.lag: Lag | None = None
        self.error: str | None = None
        self._loop: _FollowLoop | None = None
        self._thread: threading.Thread | None = None
        self._process: Any = None
        self._stop_child: ProcessEvent | None = None
        self._reports: Connection | None = None

    @property
    def pid(self) -> int | None:
        """The child process's pid (None in a thread, or before `start`)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        if self.in_process:
            self._loop = _FollowLoop(
                self.store,
                poll_interval=self.poll_interval,
                page_cache_mb=self.page_cache_mb,
                on_report=self._on_report,
                on_error=self._on_error,
            )
            target = self._loop.run
        else:
            self._start_child()
            target = self._receive_reports
        self._thread = threading.Thread(target=target, name="mastery-follow", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = _STOP_SECONDS) -> None:
        """Stop after the batch in hand; a child that does not end in `timeout` is killed."""
        if self._loop is not None:
            self._loop.stop()
        if self._stop_child is not None:
            self._stop_child.set()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                log.warning("the read-model follower did not stop in %.0f s: killed", timeout)
                self._process.kill()
                self._process.join()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._reports is not None:
            self._reports.close()
            self._reports = None

    def _start_child(self) -> None:
        try:
            prepare_read_models(self.store)
        except Exception as error:  # the child meets it again and reports it
            log.warning("the read models cannot be opened: %s", error)
        # spawn, not fork: the server has threads (a fork copies their locks held)
        context = multiprocessing.get_context("spawn")
        receiving, sending = context.Pipe(duplex=False)
        self._stop_child = context.Event()
        self._process = context.Process(
            target=_follow_in_child,
            args=(
                self.store,
                self.poll_interval,
                self.page_cache_mb,
                sending,
                self._stop_child,
                os.getpid(),
            ),
            name=LIVE_FOLLOWER,
            daemon=True,
        )
        self._process.start()
        sending.close()
        self._reports = receiving

    def _receive_reports(self) -> None:
        """Take the child's reports; start a new child if one ends unasked (a crash)."""
        backoff = 0.5
        while self._reports is not None:
            try:
                lag, error = self._reports.recv()
            except (EOFError, OSError):  # the child ended
                if self._stop_child is None or self._stop_child.is_set():
                    return
                self.error = "the read-model follower process ended"
                log.warning("%s (exit code %s): starting another", self.error, self._exitcode())
                if self._stop_child.wait(backoff):
                    return
                backoff = min(backoff * 2, 30.0)
                self._start_child()
                continue
            if lag is not None:
                self._on_report(lag)
            else:
                self._on_error(error)

    def _exitcode(self) -> int | None:
        if self._process is None:
            return None
        self._process.join(1.0)
        code: int | None = self._process.exitcode
        return code

    def _on_report(self, lag: Lag) -> None:
        self.lag = lag
        self.error = lag.error

    def _on_error(self, message: str) -> None:
        self.error = message
