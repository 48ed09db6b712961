"""Any arrival order, with any duplicates, gives the same answers at every moment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.queries import MasteryQueries, MasteryQuestion
from replay.jobs.pipeline import open_read_side, run_replay
from replay.store.location import open_store
from replay.synthetic.generate import GeneratorSettings, generate_events
from tests.replay.helpers import log_contents

GENERATED = GeneratorSettings(
    students=12, outcomes=4, results_per_student=8, seed=3, shuffle_seconds=0.0
)


@pytest.fixture(scope="module")
def events() -> list[bytes]:
    return [orjson.dumps(event) for event in generate_events(GENERATED)]


def answers(store_dir: Path, moments: list[datetime]) -> dict[str, Any]:
    db = open_read_side(open_store(str(store_dir), create=False))
    try:
        queries = MasteryQueries(db)
        found: dict[str, Any] = {}
        for moment in [None, *moments]:
            records = queries.rollups(MasteryQuestion(as_of=moment))
            found[str(moment)] = sorted(
                (record.key, record.rollup.score, record.rollup.count, record.rollup.rating)
                for record in records
            )
        return found
    finally:
        db.close()


def replay_lines(store_dir: Path, lines: list[bytes]) -> None:
    dump = store_dir.with_suffix(".jsonl")
    dump.write_bytes(b"\n".join(lines) + b"\n")
    run_replay(open_store(str(store_dir), create=True), [str(dump)])


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), duplicate_share=st.floats(0.0, 0.5))
def test_any_permutation_with_duplicates_gives_the_same_log_and_answers(
    tmp_path_factory: pytest.TempPathFactory,
    events: list[bytes],
    seed: int,
    duplicate_share: float,
) -> None:
    shuffler = random.Random(seed)
    shuffled = events + shuffler.sample(events, int(len(events) * duplicate_share))
    shuffler.shuffle(shuffled)

    base = tmp_path_factory.mktemp("perm")
    replay_lines(base / "in-order", events)
    replay_lines(base / "shuffled", shuffled)

    times = sorted(orjson.loads(line)["metadata"]["event_time"] for line in events)
    first = datetime.fromisoformat(times[0])
    last = datetime.fromisoformat(times[-1])
    moments = [first + (last - first) * k / 6 for k in range(7)] + [last + timedelta(days=1)]
    moments = [moment.astimezone(UTC) for moment in moments]

    assert log_contents(base / "in-order") == log_contents(base / "shuffled")
    assert answers(base / "in-order", moments) == answers(base / "shuffled", moments)
