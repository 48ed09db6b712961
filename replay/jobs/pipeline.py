"""The main job, wired: dumps -> log -> read models. The CLI and tests call this."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlite_utils

from projections.catchup import (
    TRACKING_NAME,
    ReadModelError,
    catch_up,
    has_pending_work,
    open_read_models,
    position_of,
)
from projections.schema import READ_MODEL_FORMAT, other_format_problem, read_model_format
from replay.ingest.sources import DumpReader
from replay.jobs.background import BackgroundProjection
from replay.jobs.collector import batch_collection
from replay.jobs.progress import Progress, no_progress
from replay.store import log_sql
from replay.store.location import Store
from replay.store.quarantine import Quarantine

if TYPE_CHECKING:  # validation and the aggregates load only when a replay runs
    from replay.ingest.ingestor import ReplaySummary
    from replay.ingest.parsing import ParsedBatch
    from replay.store.log import MasteryLog


@dataclass(frozen=True)
class ReplayOptions:
    strict: bool = False
    keep_request_metadata: bool = False
    batch_size: int = 2_000
    max_line_bytes: int = 1_000_000
    assume_utc: bool = False


def run_replay(
    store: Store,
    paths: Sequence[str],
    options: ReplayOptions = ReplayOptions(),
    *,
    stdin: BinaryIO | None = None,
    progress: Progress = no_progress,
) -> ReplaySummary:
    """Append the dumps to the log, then bring the read models level with it.

    Paths are checked before anything is written (SourceError). A large dump is
    parsed in a worker process and projected by a follower process while it is
    appended (three stages on two cores). The projection runs after the append even
    when the append stopped early (--strict or an error), so that what was stored
    is also answerable.
    """
    with batch_collection():
        return _replay(store, paths, options, stdin, progress)


def _replay(
    store: Store,
    paths: Sequence[str],
    options: ReplayOptions,
    stdin: BinaryIO | None,
    progress: Progress,
) -> ReplaySummary:
    from replay.ingest.parsing import WORKER_THRESHOLD_BYTES, parse_dumps

    reader = DumpReader(paths, stdin=stdin, max_line_bytes=options.max_line_bytes)
    quarantine = Quarantine(store.quarantine_path)
    try:  # where this replay may resolve quarantine entries (see Quarantine.resolve)
        watch = quarantine.places(reader.files)
    finally:
        quarantine.close()
    batches = parse_dumps(
        reader,
        batch_size=options.batch_size,
        keep_request_metadata=options.keep_request_metadata,
        strict=options.strict,
        assume_utc=options.assume_utc,
        watch=watch,
    )
    large = not options.strict and (reader.total_bytes or 0) >= WORKER_THRESHOLD_BYTES
    projection: AbstractContextManager[object] = (
        BackgroundProjection(store) if large else nullcontext()
    )
    started = perf_counter()
    try:
        with projection:  # forks before this process opens the log
            summary = _append(store, reader, batches, options, progress)
    finally:
        log = store.open_log()
        try:
            _project(store, log, progress)  # whatever the follower left (everything, without one)
        finally:
            log.close()
    summary.append_seconds = summary.elapsed_seconds
    summary.elapsed_seconds = perf_counter() - started
    return summary


def _append(
    store: Store,
    reader: DumpReader,
    batches: Iterator[ParsedBatch],
    options: ReplayOptions,
    progress: Progress,
) -> ReplaySummary:
    from replay.ingest.ingestor import Ingestor

    log = store.open_log()
    quarantine = Quarantine(store.quarantine_path)
    ingestor = Ingestor(
        log,
        quarantine,
        keep_request_metadata=options.keep_request_metadata,
        strict=options.strict,
        batch_size=options.batch_size,
    )
    try:
        with progress(reader.total_bytes, unit="bytes", label="appending") as update:
            summary = ingestor.ingest_batches(
                batches, on_batch=lambda batch: update(batch.bytes_read)
            )
    finally:
        quarantine.close()
        log.close()
    summary.skipped = [(skipped.path, skipped.reason) for skipped in reader.skipped]
    return summary


def _project(store: Store, log: MasteryLog, progress: Progress) -> int:
    db = open_read_models(store.read_models_path)
    try:
        start = position_of(db)
        last = log.head()
        if last <= start and not has_pending_work(db):
            return catch_up(log, db)  # level already (a follower did it): no bar to show
        with progress(max(last - start, 0), unit="events", label="projecting") as update:
            return catch_up(log, db, on_batch=lambda position: update(position - start))
    finally:
        db.close()


def open_read_side(store: Store) -> sqlite_utils.Database:
    """The read models, brought level with the log first if they lag behind it.

    A level SQLite store is checked with one query, without loading the log's
    machinery: that keeps a question's whole process quick.
    """
    db = open_read_models(store.read_models_path)
    pending = has_pending_work(db)  # left by a follower during a large replay
    if (
        store.postgres is None
        and not pending
        and position_of(db) >= log_sql.sqlite_file_head(store.log_path)
    ):
        return db
    log = store.open_log()
    try:
        if pending or position_of(db) < log.head():
            catch_up(log, db)
        return db
    finally:
        log.close()


def open_feed(path: Path) -> sqlite_utils.Database:
    """The read models for reading only: no catch-up, no schema work, no write lock.

    A consumer polls while replays write; it must never wait on them nor make them
    wait. What it sees is what the projection has committed.
    """
    if not path.exists():
        raise ReadModelError(f"{path} does not exist: run `mastery replay` or `mastery rebuild`")
    try:
        db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None, timeout=30))
        found = read_model_format(db)
    except sqlite3.DatabaseError as error:
        raise ReadModelError(f"{path} is not usable ({error}): run `mastery rebuild`") from None
    if found is None:
        db.close()
        raise ReadModelError(
            f"{path} is not set up yet (a first replay is creating it): try again shortly"
        )
    if found != READ_MODEL_FORMAT:
        db.close()
        raise ReadModelError(other_format_problem(path, found))
    return db


def rebuild_read_models(store: Store, progress: Progress = no_progress) -> dict[str, Any]:
    """Throw the read models away and project the whole log again."""
    started = perf_counter()
    for suffix in ("", "-wal", "-shm"):
        store.read_models_path.with_name(store.read_models_path.name + suffix).unlink(
            missing_ok=True
        )
    log = store.open_log()
    try:
        with batch_collection():
            applied = _project(store, log, progress)
    finally:
        log.close()
    elapsed = perf_counter() - started
    # Report where the new read models stand, not what this process applied: a replay
    # or a question running meanwhile projects batches into the same new file, and
    # those are rebuilt too.
    db = open_read_models(store.read_models_path)
    try:
        # One statement, so one snapshot: the position and the events projected up to it.
        position, events = db.execute(
            "SELECT (SELECT position FROM tracking WHERE name = ?), "
            "(SELECT SUM(events) FROM event_counts)",
            [TRACKING_NAME],
        ).fetchone()
        position, events = int(position or 0), int(events or 0)
    finally:
        db.close()
    return {
        "events": events,
        "position": position,
        "applied_by_this_process": applied,
        "elapsed_seconds": round(elapsed, 3),
        "events_per_second": round(events / elapsed, 1) if elapsed > 0 else 0.0,
    }
