"""The projections read the log through a port (projections.log_port.LogReader).

Anything with `head`, `rows_after` and `decode` feeds the read models: here a list
in memory, holding the rows of a real log, makes the same read models as the log.
"""

from __future__ import annotations

import ast
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from projections.catchup import catch_up, open_read_models
from projections.log_port import LogReader, LogRow
from replay.store.compression import StateCompressor
from replay.store.location import open_store
from tests.projections.test_rebuild import TABLES, table_rows
from tests.replay.helpers import run

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"
PROJECTIONS = Path(__file__).parents[2] / "projections"


class ListLog:
    """A log in a list: the port and nothing else."""

    def __init__(self, rows: Sequence[LogRow]) -> None:
        self.rows = list(rows)
        self.compressor = StateCompressor()

    def head(self) -> int:
        return self.rows[-1][0] if self.rows else 0

    def rows_after(self, position: int, limit: int) -> Sequence[LogRow]:
        return [row for row in self.rows if row[0] > position][:limit]

    def decode(self, state: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = orjson.loads(self.compressor.decompress(state))
        return decoded


def test_any_log_reader_makes_the_read_models_the_store_makes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert run("replay", "--store", str(store), str(SAMPLE)).exit_code == 0
    log = open_store(str(store), create=False).open_log()
    try:
        head = log.head()
        rows = list(log.rows_after(0, head + 1))
        assert [row[0] for row in log.rows_after(3, 2)] == [4, 5]
        assert log.decode(rows[0][2]) == orjson.loads(StateCompressor().decompress(rows[0][2]))
    finally:
        log.close()
    assert head > 0 and [row[0] for row in rows] == list(range(1, head + 1))

    in_memory: LogReader = ListLog(rows)
    other = tmp_path / "other"
    other.mkdir()
    db = open_read_models(other / "read-models.sqlite")
    try:
        assert catch_up(in_memory, db, batch_size=7) == head
        assert catch_up(in_memory, db, batch_size=7) == 0  # level: nothing more
    finally:
        db.close()
    for table in TABLES:
        assert table_rows(other, table) == table_rows(store, table), table
    connection = sqlite3.connect(other / "read-models.sqlite")
    try:
        assert connection.execute("SELECT position FROM tracking").fetchone()[0] == head
    finally:
        connection.close()


def test_projections_import_neither_the_store_nor_its_libraries() -> None:
    """Also an import-linter contract; this says it where the port is tested."""
    forbidden = ("replay", "eventsourcing", "psycopg")
    for path in PROJECTIONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
