"""A dump posted event by event (signed, shuffled, 10% duplicates, concurrent clients)
gives the same log and the same `mastery query --as-of` answers as `mastery replay`."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from replay.synthetic.generate import GeneratorSettings, generate_events
from tests.reliability.helpers import read_model_rows
from tests.replay.helpers import log_contents, run, stored_events
from tests.server.support import CLIENT, ISSUER, JwksServer, Key, ServeProcess, server_in_thread

SETTINGS = GeneratorSettings(
    students=12, outcomes=4, results_per_student=6, seed=11, shuffle_seconds=3600.0, legacy=0.02
)
MOMENTS = ["2025-01-15", "2025-02-01", "2025-03-01", "2025-06-01"]


def dump_lines() -> list[bytes]:
    return [orjson.dumps(event) for event in generate_events(SETTINGS)]


def query_answers(store: Path) -> dict[str, str]:
    found = {}
    for moment in [None, *MOMENTS]:
        extra = ["--as-of", moment] if moment else []
        result = run(
            "query", "--store", str(store), "--format", "json", "--limit", "100000", *extra
        )
        assert result.exit_code == 0, result.output
        found[str(moment)] = result.stdout
    return found


def test_posting_a_dump_equals_replaying_it(tmp_path: Path) -> None:
    lines = dump_lines()
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    run("replay", "--store", str(tmp_path / "replayed"), str(dump))

    rng = random.Random(5)
    posted = lines + rng.sample(lines, len(lines) // 10)
    rng.shuffle(posted)
    key = Key.make("kid-current")
    tokens = [key.sign(orjson.loads(line)) for line in posted]
    with (
        JwksServer([key]) as jwks,
        server_in_thread(tmp_path / "served", jwks_url=jwks.url, issuer=ISSUER) as (base, _),
        ThreadPoolExecutor(8) as pool,
    ):
        answers = list(pool.map(lambda token: CLIENT.post(f"{base}/events", content=token), tokens))
    assert {answer.status_code for answer in answers} == {200}
    outcomes = [answer.json()["outcome"] for answer in answers]
    assert outcomes.count("appended") == len(stored_events(tmp_path / "served"))
    assert log_contents(tmp_path / "served") == log_contents(tmp_path / "replayed")
    assert query_answers(tmp_path / "served") == query_answers(tmp_path / "replayed")
    assert read_model_rows(tmp_path / "served") == read_model_rows(tmp_path / "replayed")
    notes = {
        event["metadata"]["mastery_received_via"] for event in stored_events(tmp_path / "served")
    }
    assert notes == {"https signed RS256 kid=kid-current"}


def test_the_read_models_follow_within_a_second(tmp_path: Path) -> None:
    lines = dump_lines()[:40]
    with server_in_thread(tmp_path / "store", accept_unsigned=True) as (base, live):
        import time

        started = time.monotonic()  # the follower's process first starts (a second or so)
        while live.follower.lag is None and time.monotonic() - started < 30:
            time.sleep(0.05)
        for line in lines:
            assert CLIENT.post(f"{base}/events", content=line).status_code == 200
        appended = live.intake.counts.appended
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            lag = live.follower.lag
            if lag is not None and lag.position >= lag.head and lag.applied >= appended:
                break
            time.sleep(0.05)
        assert live.follower.lag is not None and live.follower.lag.events == 0
        ready = CLIENT.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        metrics = CLIENT.get(f"{base}/metrics").text
        assert "mastery_follower_lag_events 0.0" in metrics
        assert "mastery_commit_batch_events_count" in metrics


def test_sigterm_commits_what_is_in_flight_and_exits_0(tmp_path: Path) -> None:
    lines = dump_lines()[:200]
    server = ServeProcess(str(tmp_path / "store"), "--accept-unsigned").start()
    with ThreadPoolExecutor(16) as pool:
        futures = [
            pool.submit(CLIENT.post, f"{server.base}/events", content=line) for line in lines
        ]
        code, stderr = server.terminate()
        answers = []
        for future in futures:
            try:
                answers.append(future.result().status_code)
            except Exception:
                answers.append(0)  # refused once the server stopped accepting
    assert code == 0, stderr
    acknowledged = answers.count(200)
    assert acknowledged > 0
    assert len(stored_events(tmp_path / "store")) >= acknowledged
    assert "stopped:" in stderr


def test_refuses_to_start_without_a_way_to_verify(tmp_path: Path) -> None:
    result = run("serve", "--store", str(tmp_path / "store"))
    assert result.exit_code == 2
    assert "--jwks-url" in result.output and "--accept-unsigned" in result.output
    assert not (tmp_path / "store").exists()
