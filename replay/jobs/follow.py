"""Following a log: keep a local read-model database level with a log others append to.

A loop around `projections.catchup.catch_up`, which already reads notifications in
batches and moves the tracked position in the read models' own transaction: so a
follower stopped or cut off at any moment resumes from its position, exactly once.

Between catch-ups it waits. On PostgreSQL it LISTENs on the log's channel
(eventsourcing NOTIFYs it in every insert transaction), so new events are applied
within milliseconds; it polls as well, so a lost notification only delays. A SQLite
log is polled. A dropped connection (server restart, `pg_terminate_backend`, network)
closes the log and the listener; they are opened again with exponential backoff and
the loop goes on from the tracked position.

eventsourcing's ProjectionRunner would do the waiting too, but it wants the tracking
in a TrackingRecorder of its own; our read models are SQLite files with the tracking
row written by `catch_up`, the same for `mastery replay` and for a follower.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from projections.catchup import DEFAULT_BATCH, catch_up, open_read_models, position_of
from replay.jobs.collector import batch_collection
from replay.store.location import Store
from replay.store.log import MasteryLog, transient_errors

if TYPE_CHECKING:
    from replay.store.postgres import AppendListener

FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
_WAIT_SLICE = 0.25  # how often a wait looks at the stop flag


@dataclass(frozen=True)
class Lag:
    """How far the read models are behind the log, for people and monitoring."""

    position: int  # the last log position applied to the read models
    head: int  # the log's last position
    seconds: float  # how long the oldest unapplied event has been in the log (0 when level)
    applied: int  # events applied since the follower started
    state: str = "following"  # or "reconnecting"
    error: str | None = None

    @property
    def events(self) -> int:
        return max(self.head - self.position, 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "position": self.position,
            "head": self.head,
            "lag_events": self.events,
            "lag_seconds": round(self.seconds, 3),
            "applied": self.applied,
            "error": self.error,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }


def prepare_read_models(store: Store) -> None:
    """Create the read-model file now (tables and format mark), so that a question asked
    before a follower's first catch-up is answered from an empty read model instead of
    finding no file."""
    open_read_models(store.read_models_path).close()


class _Stopped(Exception):
    """Raised between committed batches when the follower is asked to stop."""


class Follower:
    """Keeps `store`'s local read models level with its log until stopped."""

    def __init__(
        self,
        store: Store,
        *,
        poll_interval: float = 1.0,
        batch_size: int = DEFAULT_BATCH,
        report_every: float = 10.0,
        on_report: Callable[[Lag], None] | None = None,
        page_cache_mb: int | None = None,
        finish_chunk: int | None = None,
    ) -> None:
        self.store = store
        self.page_cache_mb = page_cache_mb
        """The read models' SQLite page cache (None: catch_up's 64 MB, for bulk work);
        a follower that lives for months in a server takes a smaller one."""
        self.finish_chunk = finish_chunk
        """Rollups recomputed together (None: projections.mastery.FINISH_CHUNK)."""
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.report_every = report_every
        self.on_report = on_report
        self.applied = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._log: MasteryLog | None = None
        self._listener: AppendListener | None = None
        self._db: sqlite_utils.Database | None = None
        self._last_report = 0.0
        self._reported_applied = -1

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self, *, once: bool = False, attempts: int | None = None) -> Lag | None:
        """Follow until stopped (or, with `once`, until level with the log).

        `attempts` bounds the reconnections in a row (None: forever); past it the
        last error is raised. Returns the last lag measured.
        """
        errors = transient_errors()
        backoff, failures, lag = FIRST_BACKOFF, 0, None
        self._db = open_read_models(self.store.read_models_path)
        if self.page_cache_mb is not None:
            self._db.execute(f"PRAGMA cache_size=-{int(self.page_cache_mb) * 1024}")
        try:
            while not self.stopped:
                try:
                    self._open()
                    self._catch_up()
                    lag = self.lag()
                    # After every round that applied something, else as a heartbeat.
                    self._report(lag, force=once or lag.applied != self._reported_applied)
                    if once:
                        return lag
                    backoff, failures = FIRST_BACKOFF, 0
                    self._wait(self.poll_interval, wake_on_notify=True)
                except _Stopped:
                    break
                except errors as error:
                    failures += 1
                    self._close_log()
                    if attempts is not None and failures >= attempts:
                        raise
                    self.reconnects += 1
                    self._report_error(error, backoff)
                    self._wait(backoff, wake_on_notify=False)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) and "busy" not in str(error):
                        raise
                    self._report_error(error, backoff)  # another writer on the read models
                    self._wait(backoff, wake_on_notify=False)
                    backoff = min(backoff * 2, MAX_BACKOFF)
        finally:
            self._close_log()
            self._db.close()
        return lag

    def lag(self) -> Lag:
        """The read models' position against the log's head, and the wait of the oldest."""
        assert self._log is not None and self._db is not None
        position = position_of(self._db)
        head = self._log.head()
        seconds = 0.0
        if head > position:
            waiting = self._log.rows_after(position, 1)
            if waiting:
                recorded = self._log.decode(waiting[0][2]).get("recorded_at")
                if isinstance(recorded, str):
                    since = datetime.now(UTC) - datetime.fromisoformat(recorded)
                    seconds = max(since.total_seconds(), 0.0)
        return Lag(position, head, seconds, self.applied)

    def _open(self) -> None:
        if self._log is None:
            self._log = self.store.open_log()
        if self._listener is None:
            self._listener = self.store.listen_for_appends(self._log)

    def _catch_up(self) -> None:
        assert self._log is not None and self._db is not None

        def on_batch(position: int) -> None:
            if self.stopped:
                raise _Stopped  # after the batch's commit: nothing is lost
            now = time.monotonic()
            if now - self._last_report >= self.report_every:
                self._report(self.lag(), force=True)

        with batch_collection():
            self.applied += catch_up(
                self._log,
                self._db,
                batch_size=self.batch_size,
                on_batch=on_batch,
                finish_chunk=self.finish_chunk,
            )

    def _wait(self, seconds: float, *, wake_on_notify: bool) -> None:
        """Sleep up to `seconds`; a NOTIFY on the log's channel ends it early."""
        deadline = time.monotonic() + seconds
        while not self.stopped:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if wake_on_notify and self._listener is not None:
                if self._listener.wait(min(left, _WAIT_SLICE)):
                    return
            else:
                self._stop.wait(min(left, _WAIT_SLICE))

    def _report(self, lag: Lag, *, force: bool) -> None:
        now = time.monotonic()
        if self.on_report is not None and (force or now - self._last_report >= self.report_every):
            self.on_report(lag)
            self._last_report = now
            self._reported_applied = lag.applied

    def _report_error(self, error: BaseException, backoff: float) -> None:
        if self.on_report is None:
            return
        position = position_of(self._db) if self._db is not None else 0
        message = " ".join(str(error).split()) or type(error).__name__
        self.on_report(
            Lag(
                position,
                position,
                0.0,
                self.applied,
                state="reconnecting",
                error=f"{message} (again in {backoff:.1f} s)",
            )
        )
        self._last_report = time.monotonic()

    def _close_log(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close
                listener.close()
        log, self._log = self._log, None
        if log is not None:
            with contextlib.suppress(Exception):
                log.close()
