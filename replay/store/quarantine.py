"""The quarantine: inputs that could not become events, kept with their reason.

Nothing is thrown away silently: the raw bytes, where they came from and why they
were refused. Rows are keyed by (source, line, content), so replaying the same dump
again adds nothing here either.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from domain.rejections import Rejection
from replay.store import duplicates

TABLE = "quarantine"
LOCK_WAIT_SECONDS = 600.0


class Location(Protocol):
    """Where a line came from (replay.ingest.sources.Location is one)."""

    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def item(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class QuarantinedLine:
    source: str
    line: int
    item: int | None
    reason: str
    detail: str
    raw: bytes
    quarantined_at: str


class Quarantine:
    def __init__(self, path: Path) -> None:
        # Another replay may be writing its refused lines: wait for it (10 min), do not fail.
        self._db = sqlite_utils.Database(
            sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, check_same_thread=False)
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._pending: list[dict[str, Any]] = []
        self._resolving: list[tuple[str, int, int | None, bytes]] = []
        self.resolved = 0
        """Entries this object deleted because their place was later read whole."""
        self._duplicates: list[tuple[str, str, str, int]] = []
        duplicates.ensure_table(self._db.conn)
        if TABLE not in self._db.table_names():
            self._db.table(TABLE).create(
                {
                    "key": str,
                    "source": str,
                    "line": int,
                    "item": int,
                    "reason": str,
                    "detail": str,
                    "raw": bytes,
                    "quarantined_at": str,
                },
                pk="key",
                not_null={"source", "line", "reason", "detail", "raw", "quarantined_at"},
            )
            self._db.table(TABLE).create_index(["reason"])

    def add_all_from(self, other: Path) -> int:
        """Every line quarantined in another store's file (a copy); how many were new.
        Entries are keyed by content, so those already here stay once."""
        columns = "key, source, line, item, reason, detail, raw, quarantined_at"
        connection = self._db.conn
        connection.execute("ATTACH DATABASE ? AS other", [str(other)])
        try:
            before = connection.total_changes
            with connection:
                connection.execute(
                    f"INSERT OR IGNORE INTO {TABLE} ({columns}) SELECT {columns} FROM other.{TABLE}"
                )
            return connection.total_changes - before
        finally:
            connection.execute("DETACH DATABASE other")

    def add(self, location: Location, raw: bytes, rejection: Rejection) -> None:
        """Hold a refused input until the next flush (written with its batch)."""
        key = hashlib.blake2b(
            f"{location.source}\x00{location.line}\x00{location.item}\x00".encode() + raw,
            digest_size=16,
        ).hexdigest()
        self._pending.append(
            {
                "key": key,
                "source": location.source,
                "line": location.line,
                "item": location.item,
                "reason": rejection.reason,
                "detail": rejection.detail,
                "raw": raw,
                "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )

    def add_duplicates(self, recorded_at: datetime, counts: dict[tuple[str, str], int]) -> None:
        """Count a batch's redeliveries (event name, root account) until the next flush."""
        self._duplicates += duplicates.rows_for(recorded_at, counts)

    def resolve(self, location: Location, raw: bytes) -> None:
        """The line at `location` was read and used: its entries whose bytes were the
        beginning of `raw` are resolved (deleted at the next flush). That is a line
        quarantined while a file was still being written (`not-json`, half a line) or a
        file's break (`truncated-gzip` at that line, empty bytes), now read whole; an
        entry of another input that happened to sit at that place (stdin, a replaced
        file) has other bytes and stays."""
        self._resolving.append((location.source, location.line, location.item, raw))

    def flush(self) -> None:
        if self._pending or self._resolving or self._duplicates:
            with self._db.conn:
                if self._pending:
                    self._db.table(TABLE).insert_all(self._pending, ignore=True)
                duplicates.add_rows(self._db.conn, self._duplicates)
                for source, line, item, raw in self._resolving:
                    cursor = self._db.conn.execute(
                        f"DELETE FROM {TABLE} WHERE source = ? AND line = ? AND item IS ? "
                        "AND substr(?, 1, length(raw)) = raw",
                        [source, line, item, raw],
                    )
                    self.resolved += cursor.rowcount
            self._pending.clear()
            self._resolving.clear()
            self._duplicates.clear()

    def places(self, sources: Iterable[str]) -> frozenset[tuple[str, int]]:
        """(source, line) of the last quarantined line of each of these sources: where
        a replay of them may resolve an entry. Only the last: a line half written, or a
        file's break, is the last thing read from a file; so this stays one place a
        source however many lines a bad dump put in the quarantine."""
        found: set[tuple[str, int]] = set()
        wanted = list(dict.fromkeys(sources))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT source, MAX(line) FROM {TABLE} WHERE source IN ({marks}) GROUP BY source",
                chunk,
            )
            found.update((source, line) for source, line in rows)
        return frozenset(found)

    def clear(self, reason: str | None = None, source: str | None = None) -> int:
        """Delete the entries of this reason and/or source (all, if neither); how many."""
        where, params = _filters(reason, source)
        with self._db.conn:
            cursor = self._db.conn.execute(f"DELETE FROM {TABLE} {where}", params)
        return int(cursor.rowcount)

    def count(self) -> int:
        return self._db.table(TABLE).count

    def counts_by_reason(self) -> dict[str, int]:
        rows = self._db.execute(
            f"SELECT reason, COUNT(*) FROM {TABLE} GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
        return {reason: count for reason, count in rows}

    def lines(
        self, reason: str | None = None, limit: int | None = None, source: str | None = None
    ) -> Iterator[QuarantinedLine]:
        where, params = _filters(reason, source)
        sql = (
            f"SELECT source, line, item, reason, detail, raw, quarantined_at FROM {TABLE} "
            f"{where} ORDER BY source, line, item"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        for row in self._db.execute(sql, params):
            yield QuarantinedLine(*row)

    def close(self) -> None:
        self.flush()
        self._db.close()


def _filters(reason: str | None, source: str | None) -> tuple[str, list[Any]]:
    conditions, params = [], []
    if reason:
        conditions.append("reason = ?")
        params.append(reason)
    if source:
        conditions.append("source = ?")
        params.append(source)
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), params
