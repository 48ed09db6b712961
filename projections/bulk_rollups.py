"""Every rollup of a bulk load, computed by two processes: each takes half the students.

The end of a bulk load computes every rollup from one scan of the result versions in
key order: a third of a rebuild, on one core while the other idles (the replay's
parser and appender are done by then). A rollup key starts with its student's
versions (the scan follows `user_uuid, outcome_id, context_id`), so the students
split at the median: this process computes and stores the first half as it goes, and
a helper process computes the second half into a file of pickled chunks, which this
process stores after its own. The rows are those of one scan; the change feed numbers
them a chunk at a time, in key order, as one scan does (chunks end where the halves
meet, so the numbers may differ from one scan's: the feed's contract is the cause each
row names, not the order of a bulk load's rows, which all come in one transaction).

The helper only reads (the versions and indexes are committed before it starts: see
`projections.bulk_load.end_bulk_load`); this process stays the only writer. A helper
that fails fails the finishing transaction, which leaves the bulk-load mark: the next
pass does it again. A helper whose writer is killed stops at its next chunk and removes
its file (one that had already finished leaves it in the temporary directory).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import sqlite_utils

from projections.feed_rows import Cause, feed_row, in_feed_order
from projections.process_name import name_this_process
from projections.rollups import (
    ROLLUP_COLUMNS,
    RollupKey,
    RollupRecord,
    rollup_records,
    score_rows,
)
from projections.settings import NOW, SettingsResolver

CHUNK = 1_000
"""Rollups computed and written together: bounds memory (the scan's rows are most of
it, ~10 MB a chunk at ten versions a key)."""
HELPER_FROM_VERSIONS = 200_000
"""Below this many result versions a second process costs more than it saves."""
HELPER_NAME = "mastery-finish"
"""What the helper process calls itself (`ps`, and the benchmark's CPU by stage)."""

_SCAN = (
    f"SELECT {ROLLUP_COLUMNS}, r.position, r.canvas_event, r.recorded_at "
    "FROM result_versions r INDEXED BY idx_result_versions_user_uuid_outcome_id_context_id "
    "WHERE r.user_uuid IS NOT NULL AND r.outcome_id IS NOT NULL AND r.context_id IS NOT NULL "
    "AND r.user_uuid >= :first {up_to} ORDER BY r.user_uuid, r.outcome_id, r.context_id"
)

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Students:
    """A range of students by `user_uuid`: from `first` (included) to `last` (excluded,
    None: to the end)."""

    first: str = ""
    last: str | None = None


@dataclass
class Chunk:
    """A chunk's rollups as rows, and their change-feed rows in the feed's order."""

    rollups: Rows
    feed: Rows


def chunks(
    db: sqlite_utils.Database,
    spanning: set[tuple[str, ...]],
    deferred: dict[RollupKey, Cause],
    students: Students = Students(),
    resolver: SettingsResolver | None = None,
) -> Iterator[Chunk]:
    """The rollups of these students, a chunk at a time, in key order; keys with a
    result whose versions span keys go to `deferred` instead (see `bulk_load`)."""
    resolver = resolver or SettingsResolver(db, NOW)
    for groups, causes in _chunks_of_keys(db, spanning, deferred, students):
        yield chunk_of(rollup_records(score_rows(groups), resolver), causes)


def chunk_of(records: list[RollupRecord], causes: dict[RollupKey, Cause]) -> Chunk:
    """The rollups' rows and a feed row for each (they are all new)."""
    rows = [record.as_row() for record in records]
    feed = [
        feed_row(record.key, None, row, causes[record.key])
        for record, row in zip(records, rows, strict=True)
    ]
    return Chunk(rows, in_feed_order(feed))


def split_point(db: sqlite_utils.Database) -> str | None:
    """The student at the middle of the versions, if there are enough to share out."""
    count = db.execute("SELECT COUNT(*) FROM result_versions").fetchone()[0]
    if (
        count < HELPER_FROM_VERSIONS
        or "spawn" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon  # a daemon may not start a process
    ):
        return None
    row = db.execute(
        "SELECT user_uuid FROM result_versions "
        "INDEXED BY idx_result_versions_user_uuid_outcome_id_context_id "
        "WHERE user_uuid IS NOT NULL ORDER BY user_uuid LIMIT 1 OFFSET ?",
        [count // 2],
    ).fetchone()
    return None if row is None or not row[0] else str(row[0])


class Helper:
    """The second half's rollups, computed in a spawned process into a temporary file."""

    def __init__(self, db: sqlite_utils.Database, students: Students) -> None:
        path = database_path(db)
        handle, name = tempfile.mkstemp(prefix="mastery-rollups-", suffix=".pickle")
        os.close(handle)
        self._output = Path(name)
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=_compute_into,
            args=(str(path), students, str(self._output), os.getpid()),
            name=HELPER_NAME,
            daemon=True,
        )
        self._process.start()

    def results(self, deferred: dict[RollupKey, Cause]) -> Iterator[Chunk]:
        """Wait for the helper; its chunks in order (its deferred keys join `deferred`)."""
        self._process.join()
        if self._process.exitcode != 0:
            raise RuntimeError(
                f"the process computing rollups failed (exit code {self._process.exitcode})"
            )
        with self._output.open("rb") as file:
            for item in _pickled(file):
                if isinstance(item, Chunk):
                    yield item
                else:
                    deferred.update(item)

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._output.unlink(missing_ok=True)


def database_path(db: sqlite_utils.Database) -> Path:
    """The file of a connection's main database."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file)
    raise ValueError("the connection has no main database")


def spanning_results(db: sqlite_utils.Database) -> set[tuple[str, ...]]:
    return {tuple(row) for row in db.execute("SELECT root_account, result_id FROM moved_results")}


def _compute_into(path: str, students: Students, output: str, parent: int) -> None:
    """The helper process: read-only, it writes its chunks, then its deferred keys. If
    its parent dies (killed), it stops and removes its file: no one will read it."""
    name_this_process(HELPER_NAME)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA query_only=1")
        connection.execute("PRAGMA cache_size=-32768")
        db = sqlite_utils.Database(connection)
        connection.execute("BEGIN")  # one snapshot for the whole scan
        deferred: dict[RollupKey, Cause] = {}
        with open(output, "wb") as file:
            for found in chunks(db, spanning_results(db), deferred, students):
                if os.getppid() != parent:
                    break
                pickle.dump(found, file, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(deferred, file, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        connection.close()
        if os.getppid() != parent:
            Path(output).unlink(missing_ok=True)


def _pickled(file: BinaryIO) -> Iterator[Any]:
    while True:
        try:
            yield pickle.load(file)
        except EOFError:
            return


def _chunks_of_keys(
    db: sqlite_utils.Database,
    spanning: set[tuple[str, ...]],
    deferred: dict[RollupKey, Cause],
    students: Students,
) -> Iterator[tuple[dict[RollupKey, list[Any]], dict[RollupKey, Cause]]]:
    """Every key's rows, each result in its latest version, a chunk of keys at a time.

    The scan follows the index, so a key's rows come together (keys that share the
    student, outcome and course but not the root account or context type come in
    one run). A key holding a result in `spanning` goes to `deferred` instead.
    """
    groups: dict[RollupKey, dict[str, Any]] = {}
    last: dict[RollupKey, Any] = {}  # each key's row of the highest position: its cause
    run: tuple[str, str, str] | None = None
    cursor = db.conn.cursor()
    up_to = "" if students.last is None else "AND r.user_uuid < :last"
    cursor.execute(_SCAN.format(up_to=up_to), {"first": students.first, "last": students.last})
    while rows := cursor.fetchmany(4096):
        for row in rows:
            if run != row[1:3] + row[4:5] and len(groups) >= CHUNK:
                yield _complete(groups, last, deferred)
                groups, last = {}, {}
            run = row[1:3] + row[4:5]
            key: RollupKey = row[:5]
            before = last.get(key)
            if before is None or before[15] < row[15]:
                last[key] = row
            if (row[0], row[5]) in spanning:
                deferred[key] = _cause_of(row)  # its cause: set when the key is complete
            latest = groups.setdefault(key, {})
            seen = latest.get(row[5])
            if seen is None or seen[6] < row[6]:
                latest[row[5]] = row
    if groups:
        yield _complete(groups, last, deferred)


def _complete(
    groups: dict[RollupKey, dict[str, Any]],
    last: dict[RollupKey, Any],
    deferred: dict[RollupKey, Cause],
) -> tuple[dict[RollupKey, list[Any]], dict[RollupKey, Cause]]:
    """Complete keys, each result in its latest version, and their causes; deferred
    keys get their cause."""
    complete = {}
    causes = {}
    for key, latest in groups.items():
        cause = _cause_of(last[key])
        if key in deferred:
            deferred[key] = cause
        else:
            complete[key] = list(latest.values())
            causes[key] = cause
    return complete, causes


def _cause_of(row: Any) -> Cause:
    """The cause a row of `_SCAN` names: its position, canvas_event, recorded_at."""
    return Cause(row[15], row[16], row[17])
