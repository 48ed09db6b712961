"""Pending rollups are recomputed a chunk at a time, and every chunk is done.

A replay into an existing store takes the event-by-event path: each batch marks the
rollups of its results pending, and `finish` recomputes them in chunks of
`FINISH_CHUNK`. (A first replay or a rebuild loads in bulk and never meets that loop,
which is why this test replays twice.)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.builders import outcome, result
from tests.projections.helpers import replay_events

STUDENTS = [f"stu-{index:03d}-000000000000000000000000000000000000" for index in range(40)]


def rollup_scores(store: Path) -> tuple[dict[str, float], int]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        scores = dict(connection.execute("SELECT user_uuid, score FROM rollups").fetchall())
        (pending,) = connection.execute("SELECT COUNT(*) FROM rollups_pending").fetchone()
    finally:
        connection.close()
    return scores, pending


def test_every_chunk_of_pending_rollups_is_recomputed_when_there_are_many_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 students' rollups pending, 7 a chunk: six chunks. Each student had a 1, then
    a 4: under `highest` every rollup is 4.0 and nothing is left pending."""
    from projections import mastery

    store = tmp_path / "store"
    first = [outcome("1", method="highest")] + [
        result(f"{index + 100}", 1, at="2025-02-01T10:00:00Z", user=student)
        for index, student in enumerate(STUDENTS)
    ]
    replay_events(store, first)  # a new store: loaded in bulk
    assert rollup_scores(store) == (dict.fromkeys(STUDENTS, 1.0), 0)

    monkeypatch.setattr(mastery, "FINISH_CHUNK", 7)
    second = [
        result(f"{index + 500}", 4, at="2025-02-02T10:00:00Z", user=student)
        for index, student in enumerate(STUDENTS)
    ]
    replay_events(store, second)  # event by event: 40 keys pending
    assert rollup_scores(store) == (dict.fromkeys(STUDENTS, 4.0), 0)
