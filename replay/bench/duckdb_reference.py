"""A reference for the benchmark: what DuckDB takes to answer the simplest question.

A user holding a JSONL dump of Canvas live events might skip this project and ask
DuckDB for the latest score per (student, outcome). This module times exactly that, on
the same file the benchmark uses, so the README can set the projector's figures beside
it: loading the dump (`read_json`, newline-delimited, with an explicit schema of only
the fields the query needs) and computing `arg_max(score, event_time)` per
(`user_uuid`, `learning_outcome_id`) over `learning_outcome_result_created/_updated`.

What it does not do, and why it is only a reference: none of Canvas's calculation
methods (the latest score is not a rollup: no decaying average, n-times, highest or
average), no mastery scale or rating, no history and no point-in-time question (only
the latest state survives), and no incremental update (a new event means reading the
whole dump again). It neither deduplicates deliveries by content nor honours a deletion
(a result whose latest event deletes it still counts), and legacy results without a
`user_uuid` are left out. It is optional: without `duckdb` installed
(`pip install -e '.[bench]'`) `duckdb_reference` returns None.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

RESULT_EVENTS = ("learning_outcome_result_created", "learning_outcome_result_updated")

_LOAD = """
CREATE TABLE events AS
SELECT metadata.event_name AS event_name,
       metadata.event_time AS event_time,
       body.user_uuid AS user_uuid,
       body.learning_outcome_id AS outcome_id,
       body.score AS score
FROM read_json(
    $path,
    format = 'newline_delimited',
    columns = {
        'metadata': 'STRUCT(event_name VARCHAR, event_time TIMESTAMPTZ)',
        'body': 'STRUCT(user_uuid VARCHAR, learning_outcome_id VARCHAR, score DOUBLE)'
    }
)
"""

_LATEST = """
CREATE TABLE latest AS
SELECT user_uuid, outcome_id, arg_max(score, event_time) AS score, max(event_time) AS event_time
FROM events
WHERE list_contains($names, event_name) AND user_uuid IS NOT NULL AND outcome_id IS NOT NULL
GROUP BY user_uuid, outcome_id
"""


def duckdb_reference(dump: Path, *, threads: int | None = None) -> dict[str, Any] | None:
    """Seconds DuckDB takes to load `dump` and compute the latest score per pair.

    Returns None when `duckdb` is not importable. Otherwise: load, compute and total
    seconds, the number of events (lines) loaded, events per second over the total,
    the number of (student, outcome) pairs, and the threads DuckDB used (its default,
    every core, unless `threads` is given; 1 compares it with the single-threaded floor).
    """
    try:
        import duckdb
    except ImportError:
        return None

    connection = duckdb.connect(":memory:")
    try:
        if threads is not None:
            connection.execute(f"SET threads = {int(threads)}")
        started = time.perf_counter()
        connection.execute(_LOAD, {"path": str(dump)})
        loaded = time.perf_counter()
        connection.execute(_LATEST, {"names": list(RESULT_EVENTS)})
        computed = time.perf_counter()
        events = _scalar(connection, "SELECT count(*) FROM events")
        pairs = _scalar(connection, "SELECT count(*) FROM latest")
        used_threads = _scalar(connection, "SELECT current_setting('threads')")
    finally:
        connection.close()
    total = computed - started
    return {
        "load_seconds": round(loaded - started, 6),
        "compute_seconds": round(computed - loaded, 6),
        "seconds": round(total, 6),
        "events": events,
        "events_per_second": round(events / total) if total > 0 else 0,
        "pairs": pairs,
        "threads": used_threads,
        "duckdb_version": duckdb.__version__,
    }


def _scalar(connection: Any, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row is not None else 0
