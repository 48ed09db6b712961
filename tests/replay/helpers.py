"""Helpers to look inside a store from tests."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from replay.cli.app import app
from replay.store.compression import StateCompressor

_COMPRESSOR = StateCompressor()


def run(*args: str, input: bytes | None = None) -> Any:
    """Run the CLI in-process; returns click's Result."""
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)


def replay_json(store: Path, *paths: str | Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    result = run("replay", "--store", str(store), "--json", *extra, *map(str, paths))
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = orjson.loads(result.stdout)
    return summary


def stored_events(store: Path) -> list[dict[str, Any]]:
    """Every stored event's state, with its aggregate id and version."""
    connection = sqlite3.connect(store / "log.sqlite")
    try:
        rows = connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    finally:
        connection.close()
    events = []
    for originator_id, version, topic, state in rows:
        event = orjson.loads(_COMPRESSOR.decompress(state))
        event.update(originator_id=originator_id, originator_version=version, topic=topic)
        events.append(event)
    return events


def log_contents(store: Path) -> set[tuple[str, str]]:
    """The log as a set: (aggregate, fingerprint). Versions depend on arrival order."""
    return {(event["originator_id"], event["fingerprint"]) for event in stored_events(store)}


def versions_are_contiguous(store: Path) -> bool:
    by_aggregate: dict[str, list[int]] = {}
    for event in stored_events(store):
        by_aggregate.setdefault(event["originator_id"], []).append(event["originator_version"])
    return all(
        sorted(versions) == list(range(1, len(versions) + 1)) for versions in by_aggregate.values()
    )


def states_as_of(store: Path, moment: datetime) -> dict[str, Any]:
    """Every aggregate's state as of `moment`, folded through the real domain classes."""
    from replay.store.location import Store

    log = Store(store).open_log()
    try:
        ids = {event["originator_id"] for event in stored_events(store)}
        states = {}
        for hex_id in ids:
            from uuid import UUID

            aggregate = log.get_entity(UUID(hex_id))
            change = aggregate.as_of(moment)
            states[hex_id] = None if change is None else (change.fingerprint, change.body)
        return states
    finally:
        log.close()
