"""Live intake: event bodies received one at a time, judged like a replay, group-committed.

A front door (the HTTP server, replay/server/) hands each received body here with a
note of how it was verified, and waits for the verdict: appended, duplicate, not a
Learning event, or quarantined with the replay's own reason. The verdict comes only
once the transaction holding the event has committed, so a sender told "stored" can
never lose it.

One code path with `mastery replay`: the body is unwrapped by replay/ingest/envelopes,
judged by replay/ingest/parsing (validation, ids, PII dropping, quarantine reasons),
and appended by the same Ingestor (deduplication by the aggregate's fingerprints,
valid-time order inside the aggregate, conflicts with other writers retried).

Throughput comes from group commit: one writer thread owns the log and the Ingestor;
deliveries queue up, and the writer takes what is waiting (up to `max_batch`, waiting
at most `max_wait` seconds for more) and appends it in one transaction. Several
processes (or machines) may do this on one PostgreSQL log: the Ingestor's
conflict-and-reload keeps every event exactly once.

The read models follow in the background (replay/service/live_follower.py, a child
process around replay/jobs/follow.Follower), so the CLI and any API see live data
within a second.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from domain.events import CanvasEvent
from domain.rejections import Rejection
from replay.ingest.envelopes import decode_bytes, from_value
from replay.ingest.sources import Location, RawRecord
from replay.store.location import Store

log = logging.getLogger("mastery.intake")

RECEIVED_VIA = "mastery_received_via"
"""The metadata key of a stored event that says how it arrived and was verified.

Metadata is not part of an event's fingerprint (name, event_time and body are), so
the same event received twice, signed once and unsigned once, is still one event."""

QUARANTINE_SOURCE = "https POST /events"

Outcome = Literal["appended", "duplicate", "not-learning", "quarantined"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received body.

    `raw` is the body as received (kept by the quarantine); `claims` the verified
    claims of a signed body (None: decode `raw` as the replay does); `verified` says
    how it was verified ("RS256 kid=..." or "unsigned"), stored with the event.
    """

    raw: bytes
    verified: str
    claims: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    event_name: str | None = None
    reason: str | None = None
    detail: str | None = None


class IntakeUnavailable(Exception):
    """The store cannot take events now (unreachable, busy, stopping): retry later."""


@dataclass
class IntakeCounts:
    """Totals since start, for metrics and the shutdown report."""

    received: int = 0
    appended: int = 0
    duplicates: int = 0
    not_learning: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    commits: int = 0
    failed_commits: int = 0


@dataclass
class _Pending:
    delivery: Delivery
    future: Future[Verdict]


_STOP = object()

AGGREGATE_CACHE = 2_000
"""Aggregates the live intake remembers between commits (their last version and
fingerprints). A replay's Ingestor keeps 20,000 for throughput over a whole dump; live
events arrive in small batches and an aggregate not in the cache costs one indexed
lookup, so the server keeps a tenth of that."""


class IntakeService:
    """The writer: owns the log and the Ingestor; `submit` from any thread."""

    def __init__(
        self,
        store: Store,
        *,
        keep_request_metadata: bool = False,
        max_batch: int = 500,
        max_wait: float = 0.005,
        queue_limit: int = 20_000,
        cache_size: int = AGGREGATE_CACHE,
        on_commit: Callable[[int, float], None] | None = None,
        on_verdict: Callable[[Verdict], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.keep_request_metadata = keep_request_metadata
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.cache_size = cache_size
        self.on_commit = on_commit
        self.on_verdict = on_verdict
        self.clock = clock
        self.counts = IntakeCounts()
        self.last_error: str | None = None
        self.last_commit_ok = True
        self.committing_since: float | None = None
        """time.monotonic() when the commit under way began (None: none is): a store
        that hangs (PostgreSQL stopped: the pool waits for a connection) shows here
        long before the commit fails."""
        self._queue: queue.Queue[_Pending | object] = queue.Queue(maxsize=queue_limit)
        self._accepting = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None

    # -- life cycle ---------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Open the log in the writer thread; raises what opening it raised."""
        self._thread = threading.Thread(target=self._run, name="mastery-intake", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._start_error is not None:
            raise self._start_error
        self._accepting = True

    def close(self, timeout: float = 30.0) -> None:
        """Stop accepting, commit what is queued, close the log."""
        self._accepting = False
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> IntakeService:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def accepting(self) -> bool:
        return self._accepting

    # -- the front door's side ----------------------------------------------------

    def submit(self, delivery: Delivery) -> Future[Verdict]:
        """Queue a delivery; its future holds the verdict once committed (or
        IntakeUnavailable when the store failed or the queue is full)."""
        future: Future[Verdict] = Future()
        if not self._accepting:
            future.set_exception(IntakeUnavailable("the intake is stopping"))
            return future
        try:
            self._queue.put_nowait(_Pending(delivery, future))
        except queue.Full:
            future.set_exception(IntakeUnavailable("the intake queue is full"))
        return future

    def receive(self, deliveries: list[Delivery], timeout: float = 60.0) -> list[Verdict]:
        """Submit and wait: for Python callers and tests."""
        futures = [self.submit(delivery) for delivery in deliveries]
        return [future.result(timeout) for future in futures]

    # -- the writer thread -------------------------------------------------------

    def _run(self) -> None:
        from replay.ingest.ingestor import Ingestor
        from replay.store.quarantine import Quarantine

        try:
            self._log = self.store.open_log()
            self._quarantine = Quarantine(self.store.quarantine_path)
            self._ingestor = Ingestor(
                self._log,
                self._quarantine,
                keep_request_metadata=self.keep_request_metadata,
                cache_size=self.cache_size,
            )
        except BaseException as error:
            self._start_error = error
            self._ready.set()
            return
        self._ready.set()
        try:
            stopping = False
            while not stopping:
                batch, stopping = self._take()
                if batch:
                    self._commit(batch)
        finally:
            self._fail_queued()
            try:
                self._quarantine.close()
            finally:
                self._log.close()

    def _take(self) -> tuple[list[_Pending], bool]:
        """What is waiting: at least one delivery, then up to `max_batch` of those
        that arrive within `max_wait`."""
        first = self._queue.get()
        if first is _STOP:
            return self._drain(), True
        assert isinstance(first, _Pending)
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch + self._drain(), True
            assert isinstance(item, _Pending)
            batch.append(item)
        return batch, False

    def _drain(self) -> list[_Pending]:
        drained: list[_Pending] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return drained
            if isinstance(item, _Pending):
                drained.append(item)

    def _fail_queued(self) -> None:
        for pending in self._drain():
            _settle(pending.future, IntakeUnavailable("the intake stopped"))

    def _commit(self, batch: list[_Pending]) -> None:
        for start in range(0, len(batch), self.max_batch):
            self.committing_since = time.monotonic()
            try:
                self._commit_one(batch[start : start + self.max_batch])
            finally:
                self.committing_since = None

    def commit_stalled(self) -> float:
        """Seconds the commit under way has been waiting (0: none is under way)."""
        since = self.committing_since
        return 0.0 if since is None else time.monotonic() - since

    def _commit_one(self, batch: list[_Pending]) -> None:
        from replay.ingest.ingestor import ReplaySummary

        started = time.perf_counter()
        now = self.clock()
        verdicts: list[Verdict | None] = []
        events: list[CanvasEvent] = []
        positions: list[int] = []
        for index, pending in enumerate(batch):
            judged = judge(
                pending.delivery, now=now, keep_request_metadata=self.keep_request_metadata
            )
            if isinstance(judged, CanvasEvent):
                verdicts.append(None)
                events.append(judged)
                positions.append(index)
            else:
                verdict, rejection = judged
                if rejection is not None:
                    location = Location(f"{QUARANTINE_SOURCE} ({pending.delivery.verified})", 0)
                    self._quarantine.add(location, pending.delivery.raw, rejection)
                verdicts.append(verdict)
        try:
            appended = self._ingestor.append(events, ReplaySummary())
        except Exception as error:
            # Nothing of this batch is committed (one transaction); the cached
            # aggregates may hold its events: forget them, answer "retry later".
            # The quarantine rows wait for the next flush: keyed by content, a
            # retry of the same body adds nothing.
            self._ingestor.forget()
            self.counts.failed_commits += 1
            self.last_commit_ok = False
            self.last_error = " ".join(str(error).split()) or type(error).__name__
            log.warning("commit of %d deliveries failed: %s", len(batch), self.last_error)
            unavailable = IntakeUnavailable(f"the store is unavailable: {self.last_error}")
            for pending in batch:
                _settle(pending.future, unavailable)
            return
        self.last_commit_ok = True
        self.last_error = None
        for index, was_appended, event in zip(positions, appended, events, strict=True):
            verdicts[index] = Verdict("appended" if was_appended else "duplicate", event.name)
        self.counts.commits += 1
        if self.on_commit is not None:
            self.on_commit(len(batch), time.perf_counter() - started)
        for pending, judged_verdict in zip(batch, verdicts, strict=True):
            assert judged_verdict is not None
            self._count(judged_verdict)
            if self.on_verdict is not None:
                self.on_verdict(judged_verdict)
            _settle(pending.future, judged_verdict)

    def _count(self, verdict: Verdict) -> None:
        counts = self.counts
        counts.received += 1
        if verdict.outcome == "appended":
            counts.appended += 1
        elif verdict.outcome == "duplicate":
            counts.duplicates += 1
        elif verdict.outcome == "not-learning":
            counts.not_learning += 1
        else:
            counts.quarantined[verdict.reason or "unknown"] += 1


def _settle(future: Future[Verdict], result: Verdict | BaseException) -> None:
    """Answer a waiting caller; one who gave up (cancelled) is skipped."""
    try:
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def judge(
    delivery: Delivery, *, now: datetime, keep_request_metadata: bool = False
) -> CanvasEvent | tuple[Verdict, Rejection | None]:
    """A delivery judged exactly as a replay judges a line: the event to append, or
    the verdict (not learning; quarantined, with the rejection to keep)."""
    from replay.ingest.parsing import parse_records

    if delivery.claims is not None:
        event, rejection, wrapper = from_value(delivery.claims)
    else:
        decoded = decode_bytes(delivery.raw)
        if decoded is None:
            decoded = (None, Rejection("not-json", "the body is empty"), None)
        event, rejection, wrapper = decoded
    record = RawRecord(Location(QUARANTINE_SOURCE, 0), delivery.raw, event, rejection, wrapper)
    batch = next(
        parse_records(
            [record],
            batch_size=2,
            keep_request_metadata=keep_request_metadata,
            clock=lambda: now,
        )
    )
    if batch.events:
        judged = batch.events[0]
        judged.metadata[RECEIVED_VIA] = f"https {delivery.verified}"
        return judged
    if batch.not_learning:
        name = event.get("metadata", {}).get("event_name") if event is not None else None
        return Verdict("not-learning", name if isinstance(name, str) else None), None
    _location, _raw, refused = batch.refused[0]
    return Verdict("quarantined", reason=refused.reason, detail=refused.detail), refused
