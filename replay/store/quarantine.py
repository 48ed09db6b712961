"""The quarantine: inputs that could not become events, kept with their reason.

Nothing is thrown away silently: the raw bytes, where they came from and why they
were refused. Rows are keyed by (source, line, content), so replaying the same dump
again adds nothing here either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from domain.rejections import Rejection
from replay.ingest.sources import Location
from replay.store import duplicates

TABLE = "quarantine"


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
        self._db = sqlite_utils.Database(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._pending: list[dict[str, Any]] = []
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

    def flush(self) -> None:
        if self._pending or self._duplicates:
            with self._db.conn:
                if self._pending:
                    self._db.table(TABLE).insert_all(self._pending, ignore=True)
                duplicates.add_rows(self._db.conn, self._duplicates)
            self._pending.clear()
            self._duplicates.clear()

    def count(self) -> int:
        return self._db.table(TABLE).count

    def counts_by_reason(self) -> dict[str, int]:
        rows = self._db.execute(
            f"SELECT reason, COUNT(*) FROM {TABLE} GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
        return {reason: count for reason, count in rows}

    def lines(
        self, reason: str | None = None, limit: int | None = None
    ) -> Iterator[QuarantinedLine]:
        where = "WHERE reason = ?" if reason else ""
        params: list[Any] = [reason] if reason else []
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
