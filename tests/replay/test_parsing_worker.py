"""The parsing stage gives the same batches in a worker process as in this one."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.aggregates import aggregate_key
from replay.ingest import parsing
from replay.ingest.sources import DumpReader
from replay.jobs.pipeline import run_replay
from replay.store.location import open_store
from replay.synthetic.generate import GeneratorSettings, write_dump
from tests.replay.helpers import log_contents, stored_events


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dump") / "generated.jsonl"
    settings = GeneratorSettings(
        students=30, outcomes=5, results_per_student=10, seed=4, duplicates=0.05, legacy=0.05
    )
    with path.open("wb") as out:
        write_dump(settings, out)
    with path.open("ab") as out:
        out.write(b"{not json\n[1]\n")
    return path


def batches(dump: Path, worker: bool, monkeypatch: pytest.MonkeyPatch) -> list[parsing.ParsedBatch]:
    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0 if worker else 10**12)
    return list(parsing.parse_dumps(DumpReader([str(dump)]), batch_size=100))


def test_a_worker_process_judges_exactly_as_this_process(
    dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = batches(dump, worker=False, monkeypatch=monkeypatch)
    there = batches(dump, worker=True, monkeypatch=monkeypatch)
    assert [[e.judged() for e in b.shipped] for b in there] == [b.events for b in here]
    assert [e.key for b in there for e in b.shipped] == [
        aggregate_key(e) for b in here for e in b.events
    ]
    assert not any(b.events for b in there) and not any(b.shipped for b in here)
    assert [b.refused for b in there] == [b.refused for b in here]
    assert sum(b.read for b in there) == sum(b.read for b in here)
    assert sum(len(b.refused) for b in there) == 2
    assert there[-1].bytes_read == dump.stat().st_size


def test_a_replay_through_the_worker_stores_the_same_log(
    tmp_path: Path, dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 10**12)
    here = run_replay(open_store(str(tmp_path / "here"), create=True), [str(dump)])
    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0)
    there = run_replay(open_store(str(tmp_path / "there"), create=True), [str(dump)])
    timings = {"elapsed_seconds": 0, "append_seconds": 0, "events_per_second": 0}
    assert there.as_dict() | timings == here.as_dict() | timings
    assert log_contents(tmp_path / "there") == log_contents(tmp_path / "here")
    assert len(stored_events(tmp_path / "there")) == here.appended


def test_strict_mode_never_uses_a_worker(dump: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0)
    started = []
    monkeypatch.setattr(parsing, "_from_worker", lambda *args: started.append(args) or iter(()))
    with pytest.raises(parsing.StrictModeStop):
        list(parsing.parse_dumps(DumpReader([str(dump)]), batch_size=100, strict=True))
    assert started == []


def test_a_failing_worker_is_reported_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsing, "WORKER_THRESHOLD_BYTES", 0)

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("boom")

    monkeypatch.setattr(parsing, "parse_event", broken)
    dump = tmp_path / "one.jsonl"
    dump.write_bytes(b'{"metadata": {"event_name": "x"}, "body": {}}\n')
    with pytest.raises(RuntimeError, match="ValueError: boom"):
        list(parsing.parse_dumps(DumpReader([str(dump)]), batch_size=10))
