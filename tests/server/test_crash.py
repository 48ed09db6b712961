"""Killed mid-load: concurrent clients, `mastery serve` SIGKILLed several times and
restarted. Every event that got a 2xx is in the log once; the read models end equal,
row for row, to a replay of the same events. Two servers on one PostgreSQL log:
exactly once."""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.synthetic.generate import GeneratorSettings, generate_events
from tests.reliability.helpers import read_model_rows
from tests.replay.helpers import log_contents, run, stored_events, versions_are_contiguous
from tests.server.support import Clients, ServeProcess

SETTINGS = GeneratorSettings(
    students=30,
    outcomes=5,
    results_per_student=10,
    seed=17,
    shuffle_seconds=3600.0,
    duplicates=0.05,
)


def _fingerprints(store: Path) -> list[str]:
    return [event["fingerprint"] for event in stored_events(store)]


@pytest.mark.slow
def test_sigkill_mid_load_loses_nothing_acknowledged_and_stores_nothing_twice(
    tmp_path: Path,
) -> None:
    lines = [orjson.dumps(event) for event in generate_events(SETTINGS)]
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    run("replay", "--store", str(tmp_path / "replayed"), str(dump))

    store = str(tmp_path / "served")
    server = ServeProcess(store, "--accept-unsigned").start()
    clients = Clients(lines, [server.base]).start()
    rng = random.Random(3)
    for _ in range(4):
        time.sleep(rng.uniform(0.3, 1.0))
        server.kill()
        time.sleep(0.2)
        server.start()
    clients.join(120)
    code, stderr = server.terminate()
    assert code == 0, stderr
    assert clients.remaining == 0
    assert clients.failures > 0  # the kills did land mid-load

    served = tmp_path / "served"
    fingerprints = _fingerprints(served)
    assert len(fingerprints) == len(set(fingerprints))  # none twice
    assert versions_are_contiguous(served)
    assert log_contents(served) == log_contents(tmp_path / "replayed")  # every 2xx is there
    for result in (run("status", "--store", store),):  # brings the read models level
        assert result.exit_code == 0
    assert read_model_rows(served) == read_model_rows(tmp_path / "replayed")


@pytest.mark.slow
@pytest.mark.postgres
def test_two_servers_on_one_postgresql_log_store_each_event_once(
    tmp_path: Path, pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [orjson.dumps(event) for event in generate_events(SETTINGS)]
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    run("replay", "--store", str(tmp_path / "replayed"), str(dump))

    servers = [
        ServeProcess(
            pg_store_url,
            "--accept-unsigned",
            "--read-models",
            str(tmp_path / f"local-{n}"),
        ).start()
        for n in (1, 2)
    ]
    # Every event is sent to both servers at once (as two racing deliveries).
    clients = [Clients(lines, [server.base]).start() for server in servers]
    for group in clients:
        group.join(180)
    for server in servers:
        code, stderr = server.terminate()
        assert code == 0, stderr
    assert all(group.remaining == 0 for group in clients)

    from replay.store.location import open_store

    store = open_store(pg_store_url, create=False, read_models=str(tmp_path / "check"))
    log = store.open_log()
    try:
        states: list[Any] = []
        position = 0
        while True:
            batch = log.recorder.select_notifications(start=position + 1, limit=1000)
            if not batch:
                break
            states.extend(log.mapper.to_domain_event(item) for item in batch)
            position = batch[-1].id
    finally:
        log.close()
    pairs = [(event.originator_id.hex, event.fingerprint) for event in states]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == log_contents(tmp_path / "replayed")
