"""The CD2 rows compared, staged in a temporary SQLite database instead of Python's memory.

A snapshot of a million results held as Python tuples took ~0.7 KB a row (764 MB at
990k rows); here each row goes into a private temporary database (SQLite deletes it
when the connection closes) in batches, and comes back sorted by id through SQLite's
sorter, which spills to temporary files past its cache. What stays in Python is a
batch and the few file names: memory is the same at 100k rows as at 1M.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from types import TracebackType

from projections.reconcile import CompareRow

BATCH = 5_000
"""Rows per `executemany`: large enough that the insert costs little per row."""

_CACHE_KIB = 16 * 1024
"""The temporary database's page cache (16 MB): the bound of what it holds in memory."""

_COLUMNS = (
    "tbl, id, score, possible, percent, mastery, attempt, workflow_state, assessed_at, "
    "created_at, updated_at, deleted, file, line"
)


class CompareStage:
    """The rows of a snapshot's tables as the comparison needs them (`CompareRow`),
    written once (`add`), read back in id order as often as asked (`rows`)."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "": a private on-disk temporary database
        self._db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE staged (tbl TEXT NOT NULL, id TEXT NOT NULL, score, possible, "
            "percent, mastery, attempt, workflow_state, assessed_at, created_at, updated_at, "
            "deleted INTEGER NOT NULL, file INTEGER NOT NULL, line INTEGER NOT NULL)"
        )
        self._db.execute("CREATE TABLE users (id TEXT PRIMARY KEY, uuid TEXT NOT NULL)")
        self._users: list[tuple[str, str]] = []
        self._files: list[str] = []
        self._file_index: dict[str, int] = {}
        self._batch: list[tuple[object, ...]] = []
        self._counts: dict[str, int] = {}

    def __enter__(self) -> CompareStage:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def add(self, table: str, row: CompareRow) -> None:
        """Stage one row of `table`; written to the database a batch at a time."""
        index = self._file_index.get(row.file)
        if index is None:
            index = self._file_index[row.file] = len(self._files)
            self._files.append(row.file)
        self._batch.append((table, *row[:11], index, row.line))
        self._counts[table] = self._counts.get(table, 0) + 1
        if len(self._batch) >= BATCH:
            self.flush()

    def add_all(self, rows: Iterable[tuple[str, CompareRow]]) -> None:
        for table, row in rows:
            self.add(table, row)
        self.flush()

    def add_user(self, user_id: str, uuid: str) -> None:
        """Stage a row of CD2's `users` (its numeric id and the uuid live events carry);
        a later row of the same id wins."""
        self._users.append((user_id, uuid))
        if len(self._users) >= BATCH:
            self.flush()

    def user_uuids(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The uuid of each of these users that the snapshot's `users` table has."""
        self.flush()
        found: dict[str, str] = {}
        wanted = sorted(set(user_ids))
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            found.update(
                self._db.execute(
                    f"SELECT id, uuid FROM users WHERE id IN ({', '.join('?' * len(part))})",
                    part,
                ).fetchall()
            )
        return found

    def flush(self) -> None:
        """Write the rows added since the last flush (in one transaction)."""
        if self._users:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO users VALUES (?, ?)", self._users)
            self._users = []
        if self._batch:
            with self._db:
                self._db.executemany(
                    f"INSERT INTO staged ({_COLUMNS}) VALUES ({', '.join('?' * 14)})",
                    self._batch,
                )
            self._batch = []

    def rows(self, table: str) -> Iterator[CompareRow]:
        """The rows of `table` in id order (text order, as the log's are read), rows of
        one id in the order they were added; streamed."""
        self.flush()
        files = self._files
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM staged WHERE tbl = ? ORDER BY id, rowid", [table]
        )
        for _, identity, score, possible, percent, mastery, *rest in cursor:
            attempt, state, assessed, created, updated, deleted, file, line = rest
            yield CompareRow(
                identity,
                score,
                possible,
                percent,
                None if mastery is None else bool(mastery),
                attempt,
                state,
                assessed,
                created,
                updated,
                bool(deleted),
                files[file],
                line,
            )

    def has(self, table: str) -> bool:
        return self._counts.get(table, 0) > 0
