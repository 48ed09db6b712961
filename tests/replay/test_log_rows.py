"""The appender's own rows are the library's, byte for byte.

The appender builds each stored event from a compact record per aggregate (its last
version and fingerprints) instead of folding it into the library's aggregate and
domain event objects (`Ingestor.rows_without_aggregates`). What it stores must not
change: the same dump, replayed both ways with the same clock, leaves the same log
(positions, ids, versions, topics, state bytes) and the same quarantine. So does a
replay whose events come from the parsing worker, which ships them partly encoded
(replay/ingest/handoff.py), down either path.
"""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from replay.ingest import parsing
from replay.ingest.ingestor import Ingestor
from replay.ingest.sources import DumpReader
from replay.store.location import open_store
from replay.store.quarantine import Quarantine
from replay.synthetic.generate import GeneratorSettings, write_dump

CLOCK = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
SETTINGS = GeneratorSettings(
    students=25,
    results_per_student=12,
    seed=7,
    duplicates=0.15,
    shuffle_seconds=86_400,
    legacy=0.05,
)
"""Duplicates, events far out of valid-time order, and legacy payloads."""


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A generated dump with unusable lines, in two deliveries: the second repeats the
    first half (duplicates known only to the log) and brings the rest."""
    buffer = io.BytesIO()
    write_dump(SETTINGS, buffer)
    lines = buffer.getvalue().splitlines(keepends=True)
    lines[5:5] = [b"{not json\n", b'{"metadata": {"event_name": "outcome_created"}}\n']
    half = len(lines) // 2
    folder = tmp_path_factory.mktemp("dumps")
    first, second = folder / "first.jsonl", folder / "second.jsonl"
    first.write_bytes(b"".join(lines[:half]))
    second.write_bytes(b"".join(lines))
    return [first, second]


def replay_with(
    location: str,
    dumps: list[Path],
    *,
    rows_without_aggregates: bool,
    read_models: Path | None = None,
    worker: bool = False,
) -> Any:
    """Replay the deliveries one by one, each judged in this process or in the parsing
    worker (started before the log is opened, as a replay does); the store's log and
    quarantine."""
    store = open_store(location, create=True, read_models=read_models and str(read_models))
    for dump in dumps:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0 if worker else 10**12)
            batches = parsing.parse_dumps(DumpReader([str(dump)]), batch_size=97)
        log, quarantine = store.open_log(), Quarantine(store.quarantine_path)
        try:
            # A small cache and batches: aggregates leave the cache and come back from the log.
            ingestor = Ingestor(log, quarantine, clock=lambda: CLOCK, batch_size=97, cache_size=40)
            ingestor.rows_without_aggregates = rows_without_aggregates
            ingestor.ingest_batches(batches)
        finally:
            quarantine.close()
            log.close()
    log = store.open_log()
    try:
        rows = log.stored_rows_after(0, 1_000_000)
    finally:
        log.close()
    return rows, quarantine_rows(store.quarantine_path)


def quarantine_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the quarantine file, without the wall-clock time of an entry."""
    connection = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        contents = {}
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
            columns = [column[0] for column in cursor.description]
            contents[table] = [
                tuple(v for c, v in zip(columns, row, strict=True) if c != "quarantined_at")
                for row in cursor
            ]
        return contents
    finally:
        connection.close()


def assert_same_logs(new: Any, library: Any) -> None:
    (new_rows, new_quarantine), (library_rows, library_quarantine) = new, library
    assert len(new_rows) == len(library_rows) > 100
    for mine, theirs in zip(new_rows, library_rows, strict=True):
        assert mine == theirs
    assert any(row.originator_version > 1 for row in new_rows)
    assert new_quarantine == library_quarantine
    assert new_quarantine["quarantine"]


@pytest.mark.parametrize(
    ("rows_without_aggregates", "worker"), [(True, False), (True, True), (False, True)]
)
def test_rows_built_without_aggregates_are_the_librarys_on_sqlite(
    dumps: list[Path], tmp_path: Path, rows_without_aggregates: bool, worker: bool
) -> None:
    new = replay_with(
        str(tmp_path / "new"), dumps, rows_without_aggregates=rows_without_aggregates, worker=worker
    )
    library = replay_with(str(tmp_path / "library"), dumps, rows_without_aggregates=False)

    assert_same_logs(new, library)


@pytest.mark.postgres
@pytest.mark.parametrize("worker", [False, True])
def test_rows_built_without_aggregates_are_the_librarys_on_postgresql(
    dumps: list[Path], pg_schema_factory: Any, tmp_path: Path, worker: bool
) -> None:
    new = replay_with(
        pg_schema_factory(),
        dumps,
        rows_without_aggregates=True,
        read_models=tmp_path / "new",
        worker=worker,
    )
    library = replay_with(
        pg_schema_factory(), dumps, rows_without_aggregates=False, read_models=tmp_path / "lib"
    )

    assert_same_logs(new, library)
