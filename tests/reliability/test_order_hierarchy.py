"""Order independence of the hierarchy: any permutation with any duplicates gives the
same group trees `--as-of` many moments (the mastery answers are checked the same way
in tests/projections/test_order_independence.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay.synthetic.generate import GeneratorSettings, generate_events
from tests.replay.helpers import log_contents, replay_json, run

GENERATED = GeneratorSettings(
    students=6, outcomes=8, results_per_student=4, seed=5, shuffle_seconds=0.0
)


@pytest.fixture(scope="module")
def events() -> list[bytes]:
    return [orjson.dumps(event) for event in generate_events(GENERATED)]


def trees(store: Path, moments: list[str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for moment in [None, *moments]:
        extra = ["--as-of", moment] if moment else []
        result = run("hierarchy", "--store", str(store), "--format", "json", *extra)
        assert result.exit_code == 0, result.output
        found[str(moment)] = orjson.loads(result.stdout)
    return found


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), duplicate_share=st.floats(0.0, 0.6))
def test_any_permutation_with_duplicates_gives_the_same_trees_at_every_moment(
    tmp_path_factory: pytest.TempPathFactory, events: list[bytes], seed: int, duplicate_share: float
) -> None:
    shuffler = random.Random(seed)
    shuffled = events + shuffler.sample(events, int(len(events) * duplicate_share))
    shuffler.shuffle(shuffled)
    base = tmp_path_factory.mktemp("hierarchy")
    for name, lines in (("in-order", events), ("shuffled", shuffled)):
        (base / f"{name}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        replay_json(base / name, base / f"{name}.jsonl")

    times = sorted(orjson.loads(line)["metadata"]["event_time"] for line in events)
    first, last = datetime.fromisoformat(times[0]), datetime.fromisoformat(times[-1])
    moments = [first + (last - first) * k / 9 for k in range(10)] + [last + timedelta(days=1)]
    stamps = [moment.isoformat().replace("+00:00", "Z") for moment in moments]

    assert log_contents(base / "in-order") == log_contents(base / "shuffled")
    expected = trees(base / "in-order", stamps)
    assert expected["None"], "the generated dump should have group trees"
    assert trees(base / "shuffled", stamps) == expected
