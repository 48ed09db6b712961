"""Looking inside any store's log from tests, through the log itself (SQLite or PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from replay.store.location import open_store
from replay.synthetic.generate import GeneratorSettings, write_dump

StoredRow = tuple[UUID, int, str, bytes]


def raw_events(location: str, *, read_models: str | None = None) -> list[StoredRow]:
    """Every stored event exactly as stored (id, version, topic, state bytes), in log order."""
    log = open_store(location, create=False, read_models=read_models).open_log()
    try:
        rows: list[StoredRow] = []
        position = 0
        while True:
            batch = log.recorder.select_notifications(start=position + 1, limit=5_000)
            if not batch:
                return rows
            rows += [
                (UUID(str(n.originator_id)), n.originator_version, n.topic, n.state) for n in batch
            ]
            position = batch[-1].id
    finally:
        log.close()


def states(location: str) -> list[dict[str, Any]]:
    """Every stored event's decoded state, with its aggregate id and version."""
    from replay.store.compression import StateCompressor

    compressor = StateCompressor()
    events = []
    for originator_id, version, topic, state in raw_events(location):
        event = orjson.loads(compressor.decompress(state))
        event.update(originator_id=originator_id.hex, originator_version=version, topic=topic)
        events.append(event)
    return events


def contents(location: str) -> set[tuple[str, str]]:
    """The log as a set: (aggregate, fingerprint). Versions depend on arrival order."""
    return {(event["originator_id"], event["fingerprint"]) for event in states(location)}


def versions_are_contiguous(location: str) -> bool:
    by_aggregate: dict[UUID, list[int]] = {}
    for originator_id, version, _, _ in raw_events(location):
        by_aggregate.setdefault(originator_id, []).append(version)
    return all(sorted(v) == list(range(1, len(v) + 1)) for v in by_aggregate.values())


def generated_dump(path: Path, *, students: int, results_per_student: int, seed: int) -> Path:
    settings = GeneratorSettings(
        students=students,
        outcomes=6,
        results_per_student=results_per_student,
        seed=seed,
        duplicates=0.05,
        shuffle_seconds=86400,
        legacy=0.01,
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    return path


def mastery(
    *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.Popen[bytes]:
    """`mastery ARGS` in its own process (python -m replay), stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "replay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        **kwargs,
    )
