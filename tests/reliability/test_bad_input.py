"""82 malformed and hostile inputs: each is quarantined with a clear reason or accepted,
none crashes the replay, none changes what was stored, and the log still verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.ingest.parsing import WORKER_THRESHOLD_BYTES
from tests.reliability.corpus import ACCEPTED, Case, build_corpus
from tests.replay.helpers import replay_json, run, stored_events


@pytest.fixture(scope="module")
def corpus(reference_payloads_by_name: dict[str, Any]) -> list[Case]:
    return build_corpus(reference_payloads_by_name["learning_outcome_result_created"])


def test_the_corpus_is_large_and_varied(corpus: list[Case]) -> None:
    assert len(corpus) >= 40
    assert len({case.name for case in corpus}) == len(corpus)
    assert len(set().union(*(case.reasons for case in corpus))) >= 15


@pytest.mark.parametrize("worker", [True, False], ids=["parsing-worker", "in-process"])
def test_every_hostile_input_is_quarantined_or_accepted_and_nothing_stored_changes(
    tmp_path: Path,
    corpus: list[Case],
    reference_payloads_by_name: dict[str, Any],
    worker: bool,
) -> None:
    store = tmp_path / "store"
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in reference_payloads_by_name.values()))
    replay_json(store, good)
    before = stored_events(store)

    hostile = tmp_path / "hostile"
    hostile.mkdir()
    cases = corpus if worker else [c for c in corpus if len(c.content) < 1_000_000]
    for case in cases:
        (hostile / case.name).write_bytes(case.content)
    size = sum(len(case.content) for case in cases)
    assert (size >= WORKER_THRESHOLD_BYTES) is worker  # both ways of parsing are covered

    summary = replay_json(store, hostile)  # exit code 0 is asserted inside
    after = stored_events(store)
    assert after[: len(before)] == before, "something already stored changed"
    assert len(after) - len(before) == summary["appended"]

    listing = run("quarantine", "--store", str(store), "--json")
    found: dict[str, set[str]] = {}
    for line in listing.stdout.split("\n")[:-1]:  # JSON lines: U+2028 is no line end
        record = orjson.loads(line)
        assert record["reason"] and record["detail"], record
        found.setdefault(Path(record["source"]).name, set()).add(record["reason"])
    for case in cases:
        reasons = found.get(case.name, set(ACCEPTED))
        assert reasons <= case.reasons, (case.name, reasons)
    assert summary["quarantined"] == sum(summary["quarantined_by_reason"].values()) > 40

    verified = run("verify", "--store", str(store), "--json")
    assert verified.exit_code == 0, verified.stdout
