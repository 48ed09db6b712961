"""The first stage of a replay: decoded lines judged into batches of Canvas events.

Parsing and validating is as costly as appending, so a large replay runs this stage
in a second process and the two stages use both cores. The worker only reads and
judges; the main process stays the only writer of the log, so exactly-once is
decided in one place as before. Batches cross the process boundary as orjson
bytes (a million events cost well under a second of encoding), with refused lines
(rare) pickled beside them; the worker also does ahead what the appender would
otherwise do for each event (replay/ingest/handoff.py).

`--strict`, stdin and small inputs stay in one process: strict mode must stop at
the first bad line, before anything after it is appended.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.events import CanvasEvent, NotLearning, parse_event
from domain.rejections import Rejection
from replay.ingest.handoff import ShippedEvent, decode_events, encode_events
from replay.ingest.sources import DumpReader, Location, RawRecord
from replay.process_name import PARSER, name_this_process

WORKER_THRESHOLD_BYTES = 8 * 1024 * 1024
"""Below this, starting a process costs more than it saves."""

_UNREADABLE = Rejection("unusable", "the input could not be read")


class StrictModeStop(Exception):
    """--strict: the first unusable input ends the replay."""

    def __init__(self, location: Location, rejection: Rejection) -> None:
        super().__init__(f"{location}: {rejection}")
        self.location = location
        self.rejection = rejection


@dataclass
class ParsedBatch:
    """What a slice of the input became; `bytes_read` is for the progress bar."""

    events: list[CanvasEvent] = field(default_factory=list)
    refused: list[tuple[Location, bytes, Rejection]] = field(default_factory=list)
    read: int = 0
    not_learning: int = 0
    bytes_read: int = 0
    resolved: list[tuple[Location, bytes]] = field(default_factory=list)
    """Lines used at a place the quarantine holds an entry for (see Quarantine.resolve)."""
    shipped: list[ShippedEvent] = field(default_factory=list)
    """Instead of `events`: those the worker process judged, as it ships them (handoff.py)."""


def parse_records(
    records: Iterable[RawRecord],
    *,
    batch_size: int,
    keep_request_metadata: bool = False,
    strict: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    bytes_read: Callable[[], int] = lambda: 0,
    assume_utc: bool = False,
    watch: frozenset[tuple[str, int]] = frozenset(),
) -> Iterator[ParsedBatch]:
    """Judge records into batches of at most `batch_size` events.

    A record used at a place in `watch` (where the quarantine holds an entry) is
    noted in its batch's `resolved`.

    In strict mode the first rejection raises StrictModeStop, after the batch of
    the events before it has been yielded (and so appended by the consumer).
    """
    batch = ParsedBatch()
    now = clock()
    for record in records:
        batch.read += 1
        if record.event is None:
            rejection = record.rejection or _UNREADABLE
        else:
            parsed = parse_event(
                record.event,
                now=now,
                keep_request_metadata=keep_request_metadata,
                assume_utc=assume_utc,
            )
            if (  # the tuple is made only when the quarantine has a place to watch
                watch
                and (record.location.source, record.location.line) in watch
                and not isinstance(parsed, Rejection)
            ):
                batch.resolved.append((record.location, record.raw))
            if isinstance(parsed, CanvasEvent):
                batch.events.append(parsed)
                if len(batch.events) >= batch_size:
                    batch.bytes_read = bytes_read()
                    yield batch
                    batch = ParsedBatch()
                    now = clock()
                continue
            if isinstance(parsed, NotLearning):
                batch.not_learning += 1
                continue
            rejection = parsed
        if strict:
            batch.read -= 1
            yield batch
            raise StrictModeStop(record.location, rejection)
        batch.refused.append((record.location, record.raw, rejection))
    batch.bytes_read = bytes_read()
    yield batch


def parse_dumps(
    reader: DumpReader,
    *,
    batch_size: int,
    keep_request_metadata: bool = False,
    strict: bool = False,
    assume_utc: bool = False,
    watch: frozenset[tuple[str, int]] = frozenset(),
) -> Iterator[ParsedBatch]:
    """The parsed batches of a dump, from a worker process when that pays."""
    in_process = (
        strict
        or reader.total_bytes is None
        or reader.total_bytes < WORKER_THRESHOLD_BYTES
        or "fork" not in multiprocessing.get_all_start_methods()
    )
    if in_process:
        return parse_records(
            reader,
            batch_size=batch_size,
            keep_request_metadata=keep_request_metadata,
            strict=strict,
            bytes_read=lambda: reader.bytes_read,
            assume_utc=assume_utc,
            watch=watch,
        )
    return _from_worker(reader, batch_size, keep_request_metadata, assume_utc, watch)


def _from_worker(
    reader: DumpReader,
    batch_size: int,
    keep_request_metadata: bool,
    assume_utc: bool = False,
    watch: frozenset[tuple[str, int]] = frozenset(),
) -> Iterator[ParsedBatch]:
    """Start the worker now (before the caller opens the log), read from it later."""
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)
    worker = multiprocessing.get_context("fork").Process(
        target=_work,
        args=(reader, batch_size, keep_request_metadata, sender, receiver, assume_utc, watch),
        name=PARSER,
        daemon=True,
    )
    worker.start()
    sender.close()
    return _receive(worker, receiver)


def _receive(worker: Any, receiver: multiprocessing.connection.Connection) -> Iterator[ParsedBatch]:
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                raise RuntimeError(
                    f"the parsing process ended unexpectedly (exit code {worker.exitcode})"
                ) from None
            if message[0] == "done":
                return
            if message[0] == "error":
                raise RuntimeError(f"the parsing process failed: {message[1]}")
            yield _decode(message)
    finally:
        receiver.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.kill()


def _work(
    reader: DumpReader,
    batch_size: int,
    keep_request_metadata: bool,
    sender: multiprocessing.connection.Connection,
    receiver: multiprocessing.connection.Connection | None = None,
    assume_utc: bool = False,
    watch: frozenset[tuple[str, int]] = frozenset(),
) -> None:
    # The fork copied the main process's end of the pipe: close it, or the pipe keeps
    # a reader after the main process dies (kill -9) and this process blocks forever
    # on a full pipe instead of getting BrokenPipeError and ending.
    if receiver is not None:
        receiver.close()
    name_this_process(PARSER)
    try:
        for batch in parse_records(
            reader,
            batch_size=batch_size,
            keep_request_metadata=keep_request_metadata,
            bytes_read=lambda: reader.bytes_read,
            assume_utc=assume_utc,
            watch=watch,
        ):
            sender.send(_encode(batch))
        sender.send(("done",))
    except (KeyboardInterrupt, BrokenPipeError):
        pass  # the main process is stopping or gone: nothing to report to
    except Exception as error:  # reported to, and raised by, the main process
        sender.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        sender.close()


def _encode(batch: ParsedBatch) -> tuple[Any, ...]:
    return (
        "batch",
        encode_events(batch.events),
        batch.refused,
        batch.read,
        batch.not_learning,
        batch.bytes_read,
        batch.resolved,
    )


def _decode(message: tuple[Any, ...]) -> ParsedBatch:
    _, events, refused, read, not_learning, bytes_read, resolved = message
    return ParsedBatch(
        shipped=decode_events(events),
        refused=refused,
        read=read,
        not_learning=not_learning,
        bytes_read=bytes_read,
        resolved=resolved,
    )
