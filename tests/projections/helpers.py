"""Run the whole path in tests: events in, `mastery query --format json` out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.builders import write_dump
from tests.replay.helpers import run

_counter = iter(range(10**9))


def replay_events(store: Path, events: list[dict[str, Any]], *options: str) -> dict[str, Any]:
    dump = write_dump(store.parent / f"dump-{next(_counter)}.jsonl", events)
    result = run("replay", "--store", str(store), "--json", *options, str(dump))
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = orjson.loads(result.stdout)
    return summary


def query(store: Path, *options: str) -> list[dict[str, Any]]:
    result = run("query", "--store", str(store), "--format", "json", *options)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = orjson.loads(result.stdout)
    return rows


def scores(store: Path, *options: str) -> dict[tuple[str, str], float | None]:
    return {(r["user_uuid"], r["learning_outcome_id"]): r["score"] for r in query(store, *options)}


def only(store: Path, *options: str) -> dict[str, Any]:
    rows = query(store, *options)
    assert len(rows) == 1, rows
    return rows[0]
