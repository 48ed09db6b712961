"""PostgreSQL restarted under load: while it is down `POST /events` answers 503 (so
Canvas retries) and readiness says why; once it is back the server recovers by
itself, and every event that got a 2xx is in the log exactly once.

The test stops and starts the local cluster itself (`pg_ctlcluster`, as root): it
skips where that is not possible (a failure on CI, like the other PostgreSQL tests),
and always leaves the cluster running, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest

from replay.synthetic.generate import GeneratorSettings, generate_events
from tests.pg import admin_connection, postgres_required, server_url
from tests.replay.helpers import log_contents, run
from tests.server.support import CLIENT, Clients, ServeProcess

SETTINGS = GeneratorSettings(
    students=100,
    outcomes=5,
    results_per_student=10,
    seed=23,
    shuffle_seconds=3600.0,
    duplicates=0.05,
)
CLUSTER_ENV = "MASTERY_TEST_POSTGRES_CLUSTER"
"""`version/name` of the local cluster behind the test URL (default: the one
`pg_lsclusters` lists on the URL's port)."""
DOWN_SECONDS = 14.0
"""Longer than the server's answer deadline (10 s): requests waiting for the store
are answered 503 before Canvas would time out."""


def _cluster() -> tuple[str, str] | None:
    """The local cluster serving the test URL, if this process may stop and start it."""
    named = os.environ.get(CLUSTER_ENV)
    if named:
        version, _, name = named.partition("/")
        return version, name
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        return None
    url = urlsplit(server_url())
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(url.port or 5432):
            return fields[0], fields[1]
    return None


def _ctl(cluster: tuple[str, str], action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def _wait_for_postgres(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with admin_connection() as conn:
                conn.execute("SELECT 1")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def cluster(postgres_server: str) -> Iterator[tuple[str, str]]:
    """The cluster to restart; started again afterwards whatever the test did."""
    found = _cluster()
    if found is None:
        message = (
            f"cannot stop and start the PostgreSQL at {server_url()} from here: run as root "
            f"beside a local cluster with pg_ctlcluster, or set {CLUSTER_ENV}=version/name"
        )
        if postgres_required():
            pytest.fail(f"CI needs a PostgreSQL it can restart: {message}")
        pytest.skip(message)
    try:
        yield found
    finally:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *found, "start"],
            capture_output=True,
            timeout=120,
            check=False,
        )  # "already running" is fine
        _wait_for_postgres()


def _ready(base: str) -> tuple[int, Any]:
    answer = CLIENT.get(f"{base}/readyz", timeout=5)
    return answer.status_code, answer.json()


def _wait_ready(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _ready(base)[0] != 200:
        assert time.monotonic() < deadline, _ready(base)[1]
        time.sleep(0.2)


def _logged(url: str, local: Path) -> list[tuple[str, str]]:
    """(aggregate, fingerprint) of every event in the PostgreSQL log, in log order."""
    from replay.store.location import open_store

    store = open_store(url, create=False, read_models=str(local))
    log = store.open_log()
    try:
        pairs: list[tuple[str, str]] = []
        position = 0
        while True:
            batch = log.recorder.select_notifications(start=position + 1, limit=1000)
            if not batch:
                return pairs
            for item in batch:
                event = log.mapper.to_domain_event(item)
                pairs.append((event.originator_id.hex, event.fingerprint))
            position = batch[-1].id
    finally:
        log.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_restarted_under_load_answers_503_then_recovers_losing_nothing(
    tmp_path: Path, pg_store_url: str, cluster: tuple[str, str]
) -> None:
    lines = [orjson.dumps(event) for event in generate_events(SETTINGS)]
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(b"\n".join(lines) + b"\n")
    run("replay", "--store", str(tmp_path / "replayed"), str(dump))

    server = ServeProcess(
        pg_store_url, "--accept-unsigned", "--read-models", str(tmp_path / "local")
    ).start()
    try:
        _wait_ready(server.base, 30)
        clients = Clients(lines, [server.base], threads=8, pause=0.02).start()
        while clients.snapshot()[1] < len(lines) // 5:  # well under way
            time.sleep(0.05)

        _ctl(cluster, "stop")
        time.sleep(0.5)  # answers to commits made just before the stop arrive
        stopped = clients.snapshot()
        assert stopped[1] < len(lines), "the load ended before PostgreSQL stopped"
        time.sleep(DOWN_SECONDS)
        down_status, down_report = _ready(server.base)
        while_down = clients.snapshot()
        _ctl(cluster, "start")
        _wait_for_postgres()

        clients.join(180)
        assert clients.remaining == 0, clients.statuses
        _wait_ready(server.base, 90)  # the follower is back too
    finally:
        code, stderr = server.terminate()
    assert code == 0, stderr

    # While it was down: 503s (never a 2xx without a commit), and not ready.
    assert while_down[0][503] > stopped[0][503], (stopped, while_down)
    assert while_down[1] == stopped[1], "events acknowledged while PostgreSQL was down"
    assert set(while_down[0]) <= {200, 503}, while_down[0]
    assert down_status == 503 and down_report["problems"], down_report
    # Afterwards: recovery, by the same server process: what waited got its 2xx.
    assert while_down[1] < len(lines) == len(clients.ledger)
    # Nothing acknowledged lost, nothing twice: the log holds exactly the dump's events.
    pairs = _logged(pg_store_url, tmp_path / "check")
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == log_contents(tmp_path / "replayed")
