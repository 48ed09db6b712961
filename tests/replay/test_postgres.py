"""The log on PostgreSQL: the same behaviour as the directory store, several ingesters
at once, followers that keep up and survive a killed connection, and `mastery copy`."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.store.location import READ_MODELS_ENV
from replay.store.postgres import EVENTS_TABLE, MARKER_TABLE, PostgresLocation
from tests.replay.helpers import run
from tests.replay.logs import (
    contents,
    generated_dump,
    mastery,
    raw_events,
    versions_are_contiguous,
)


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 450 events, some duplicated, some legacy."""
    directory = tmp_path_factory.mktemp("dump")
    return generated_dump(directory / "a.jsonl", students=30, results_per_student=12, seed=21)


@pytest.fixture(scope="module")
def bad_lines(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "bad.jsonl"
    path.write_bytes(b'not json\n[1, 2]\n{"metadata": {}}\n')
    return path


def replay(location: str, *paths: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    result = run("replay", "--store", location, "--json", *extra, *map(str, paths))
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = orjson.loads(result.stdout)
    return summary


def query(location: str, *options: str) -> list[dict[str, Any]]:
    result = run("query", "--store", location, "--format", "json", *options)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = orjson.loads(result.stdout)
    return rows


def status(location: str, *options: str) -> dict[str, Any]:
    result = run("status", "--store", location, "--json", *options)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = orjson.loads(result.stdout)
    return report


def feed(location: str) -> list[dict[str, Any]]:
    """The change feed without what differs from store to store (its epoch, wall times)."""
    result = run("changes", "--store", location)
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    return [{k: v for k, v in line.items() if k not in ("epoch", "recorded_at")} for line in lines]


def log_head(url: str) -> int:
    location = PostgresLocation.parse(url)
    with location.connect() as conn:
        row = conn.execute(
            f'SELECT COALESCE(MAX(notification_id), 0) FROM "{location.schema}".{EVENTS_TABLE}'
        ).fetchone()
    return int(row[0]) if row else 0


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Running:
    """A `mastery follow --json` process, its lag reports collected as they come."""

    def __init__(self, *args: str, application_name: str) -> None:
        env = {**os.environ, "PGAPPNAME": application_name}
        self.process = mastery("follow", "--json", *args, env=env)
        self.reports: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.reports.append(orjson.loads(line))

    def level_with(self, head: int) -> bool:
        return any(r["position"] == head and r["head"] == head for r in self.reports)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.process.stderr is not None
        return code, self.process.stderr.read().decode()


@pytest.fixture
def followers() -> Iterator[list[Running]]:
    running: list[Running] = []
    yield running
    for follower in running:
        if follower.process.poll() is None:
            follower.process.kill()
            follower.process.wait()


# -- no server needed ----------------------------------------------------------------


def test_a_postgres_url_is_read_with_libpq_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"):
        monkeypatch.delenv(variable, raising=False)
    location = PostgresLocation.parse("postgresql://ann:s%40cret@db.example:6543/om?schema=t7")
    assert (location.host, location.port, location.user, location.dbname, location.schema) == (
        "db.example",
        6543,
        "ann",
        "om",
        "t7",
    )
    assert location.password == "s@cret"
    assert location.display() == "postgresql://ann@db.example:6543/om?schema=t7"  # no password
    env = location.eventsourcing_env(create_table=False)
    assert env["OUTCOMEMASTERY_PERSISTENCE_MODULE"].endswith(":MasteryPostgresFactory")
    assert env["OUTCOMEMASTERY_POSTGRES_SCHEMA"] == "t7"
    monkeypatch.setenv("PGUSER", "bob")
    monkeypatch.setenv("PGPASSWORD", "pw")
    defaults = PostgresLocation.parse("postgres://localhost")
    assert (defaults.port, defaults.user, defaults.password, defaults.dbname) == (
        5432,
        "bob",
        "pw",
        "bob",
    )
    assert defaults.schema == "public"


def test_unusable_urls_and_options_are_refused_with_a_hint(tmp_path: Path) -> None:
    result = run("status", "--store", "postgresql://u:secret@localhost/db?sslmod=require")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert 'invalid connection option "sslmod"' in message
    assert "sslmode" in message and "secret" not in message
    result = run("status", "--store", str(tmp_path / "s"), "--read-models", str(tmp_path))
    assert result.exit_code == 2
    assert "--read-models is for a PostgreSQL store" in result.output


def test_libpq_parameters_in_a_url_are_kept_apart_from_the_logs_address() -> None:
    url = (
        "postgresql://ann:pw@db.example/om?schema=t7&sslmode=require&sslrootcert=/ca.pem"
        "&application_name=nightly&connect_timeout=7"
    )
    location = PostgresLocation.parse(url)
    assert dict(location.libpq) == {
        "sslmode": "require",
        "sslrootcert": "/ca.pem",
        "application_name": "nightly",
        "connect_timeout": "7",
    }
    assert location.display() == "postgresql://ann@db.example:5432/om?schema=t7"
    assert location == PostgresLocation.parse("postgresql://ann:pw@db.example/om?schema=t7")
    env = location.eventsourcing_env(create_table=False)
    assert orjson.loads(env["OUTCOMEMASTERY_POSTGRES_LIBPQ_PARAMETERS"])["sslmode"] == "require"


@pytest.mark.postgres
def test_libpq_parameters_in_the_url_reach_every_connection(pg_store_url: str, dump: Path) -> None:
    """Managed PostgreSQL URLs carry sslmode and the like: they were refused."""
    from replay.store.location import open_store

    name = f"om-{PostgresLocation.parse(pg_store_url).schema}"
    url = f"{pg_store_url}&sslmode=prefer&application_name={name}&connect_timeout=5"
    assert replay(url, dump)["appended"] > 0
    assert run("status", "--store", f"{pg_store_url}&sslmode=disable").exit_code == 0
    location = PostgresLocation.parse(url)
    with location.connect() as conn:
        assert conn.execute("SHOW application_name").fetchone() == (name,)
    log = open_store(url, create=False).open_log()
    try:
        assert log.recorder.max_notification_id()  # a connection from eventsourcing's pool
        with location.connect() as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND pid <> pg_backend_pid()",
                [name],
            ).fetchone()
        assert row is not None and row[0] >= 1
    finally:
        log.close()
    # passed through, not ignored: this server has no TLS, so requiring it fails
    refused = run("status", "--store", f"{pg_store_url}&sslmode=require")
    assert refused.exit_code == 2
    assert "SSL" in refused.output


def test_follow_once_brings_a_directory_store_level(tmp_path: Path, dump: Path) -> None:
    store = str(tmp_path / "store")
    replay(store, dump)
    (tmp_path / "store" / "read-models.sqlite").unlink()
    result = run("follow", "--store", store, "--once", "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout.splitlines()[-1])
    assert report["lag_events"] == 0
    assert report["position"] == report["head"] == report["applied"] > 0


# -- the same behaviour on both stores --------------------------------------------------


def test_replay_stores_each_event_once_on_either_store(store_location: str, dump: Path) -> None:
    first = replay(store_location, dump)
    assert first["appended"] > 400 and first["duplicates"] > 0
    again = replay(store_location, dump)
    assert again["appended"] == 0
    assert again["duplicates"] == first["appended"] + first["duplicates"]
    assert len(raw_events(store_location)) == first["appended"]
    assert versions_are_contiguous(store_location)
    assert status(store_location)["events"] == first["appended"]


def test_quarantine_and_rebuild_work_on_either_store(
    store_location: str, dump: Path, bad_lines: Path
) -> None:
    summary = replay(store_location, dump, bad_lines)
    assert summary["quarantined"] == 3
    result = run("quarantine", "--store", store_location, "--json")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3
    before = query(store_location)
    result = run("rebuild", "--store", store_location)
    assert result.exit_code == 0, result.output
    assert query(store_location) == before


@pytest.mark.postgres
def test_postgres_answers_exactly_as_the_directory_store(
    tmp_path: Path, pg_store_url: str, dump: Path, bad_lines: Path
) -> None:
    directory = str(tmp_path / "store")
    for location in (directory, pg_store_url):
        replay(location, dump, bad_lines)
    assert contents(pg_store_url) == contents(directory)
    for options in ((), ("--as-of", "2025-02-01"), ("--all-courses",)):
        assert query(pg_store_url, *options) == query(directory, *options)
    on_postgres, on_sqlite = status(pg_store_url), status(directory)
    assert on_postgres.pop("store") == PostgresLocation.parse(pg_store_url).display()
    on_sqlite.pop("store")
    assert on_postgres == on_sqlite
    course = query(directory)[0]["context_id"]
    for command in (
        ("rollups", "--course", course, "--format", "json"),
        ("results", "--course", course, "--format", "csv"),
        ("distribution", "--course", course, "--format", "json"),
        ("hierarchy", "--context", f"Course:{course}", "--format", "json"),
    ):
        printed = run(*command[:1], "--store", pg_store_url, *command[1:])
        assert printed.exit_code == 0, printed.output
        assert printed.stdout == run(*command[:1], "--store", directory, *command[1:]).stdout
    assert feed(pg_store_url) == feed(directory)
    verified = run("verify", "--store", pg_store_url)
    assert verified.exit_code == 0, verified.output


# -- PostgreSQL only ---------------------------------------------------------------------


@pytest.mark.postgres
def test_first_use_makes_the_log_and_ties_the_local_directory_to_it(
    pg_schema_factory: Callable[[], str],
    tmp_path: Path,
    dump: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = pg_schema_factory()
    result = run("query", "--store", url)
    assert result.exit_code == 2
    assert "no log at" in result.output
    monkeypatch.setenv("MASTERY_STORE", url)
    result = run("replay", "--json", str(dump))
    assert result.exit_code == 0, result.output
    location = PostgresLocation.parse(url)
    with location.connect() as conn:
        store_format, log_id = conn.execute(
            f'SELECT format, log_id FROM "{location.schema}".{MARKER_TABLE}'
        ).fetchone()
    local = Path(os.environ[READ_MODELS_ENV])
    marker = orjson.loads((local / "store.json").read_bytes())
    assert (store_format, marker["log_id"]) == (1, str(log_id))
    assert (local / "read-models.sqlite").exists()
    # The same local directory for another log would mix their positions: refused.
    result = run("replay", "--store", pg_schema_factory(), str(dump))
    assert result.exit_code == 2
    assert "holds the read models of log" in result.output
    elsewhere = tmp_path / "elsewhere"
    result = run("query", "--store", url, "--read-models", str(elsewhere), "--format", "json")
    assert result.exit_code == 0
    assert orjson.loads(result.stdout) == query(url)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "batch_size",
    ["2000", "50"],  # tiny batches: many conflicts, retried with backoff
)
def test_concurrent_replays_store_every_event_exactly_once(
    tmp_path: Path, pg_store_url: str, batch_size: str
) -> None:
    first = generated_dump(tmp_path / "a.jsonl", students=80, results_per_student=25, seed=5)
    second = generated_dump(tmp_path / "b.jsonl", students=60, results_per_student=25, seed=6)
    reference = str(tmp_path / "reference")
    replay(reference, first, second)
    processes = [  # on an empty schema: they also race to create the log
        mastery(
            "replay",
            "--store",
            pg_store_url,
            "--read-models",
            str(tmp_path / f"r{n}"),
            "--batch-size",
            batch_size,
            "--json",
            str(path),
        )
        for n, path in enumerate([second, first, second])
    ]
    summaries = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
        summaries.append(orjson.loads(out))
    assert contents(pg_store_url) == contents(reference)
    assert versions_are_contiguous(pg_store_url)
    total = len(raw_events(reference))
    assert len(raw_events(pg_store_url)) == total
    assert sum(summary["appended"] for summary in summaries) == total  # each event once


@pytest.mark.postgres
def test_a_follower_keeps_up_with_replays_and_survives_a_killed_connection(
    tmp_path: Path, pg_store_url: str, followers: list[Running]
) -> None:
    parts = [
        generated_dump(tmp_path / f"p{n}.jsonl", students=20, results_per_student=8, seed=n)
        for n in range(4)
    ]
    ingester = ("--read-models", str(tmp_path / "ingester"))
    replay(pg_store_url, parts[0], extra=ingester)
    schema = PostgresLocation.parse(pg_store_url).schema
    follower = Running(
        "--store",
        pg_store_url,
        "--read-models",
        str(tmp_path / "follower"),
        "--poll-interval",
        "0.2",
        "--report-every",
        "0.5",
        application_name=schema,
    )
    other = Running(
        "--store",
        pg_store_url,
        "--read-models",
        str(tmp_path / "other"),
        "--poll-interval",
        "5",
        application_name="another-follower",
    )
    followers += [follower, other]
    wait_until(lambda: follower.level_with(log_head(pg_store_url)), what="the first catch-up")
    for part in parts[1:3]:
        replay(pg_store_url, part, extra=ingester)
        head = log_head(pg_store_url)
        wait_until(lambda head=head: follower.level_with(head), what=f"position {head}")

    with PostgresLocation.parse(pg_store_url).connect() as conn:
        killed = conn.execute(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [schema],
        ).fetchone()
    assert killed is not None and killed[0] >= 1  # at least its LISTEN connection
    replay(pg_store_url, parts[3], extra=ingester)
    head = log_head(pg_store_url)
    wait_until(lambda: follower.level_with(head), what="catching up after the kill")
    wait_until(lambda: other.level_with(head), what="the second follower")
    assert any(r["state"] == "reconnecting" for r in follower.reports)

    code, errors = follower.stop()
    assert code == 0, errors
    assert other.stop()[0] == 0
    following = ("--read-models", str(tmp_path / "follower"))
    expected = query(pg_store_url, *ingester)
    assert query(pg_store_url, *following) == expected
    assert query(pg_store_url, "--read-models", str(tmp_path / "other")) == expected
    assert status(pg_store_url, *following)["projected_position"] == head


@pytest.mark.postgres
def test_copy_moves_a_directory_log_to_postgres_event_for_event(
    tmp_path: Path, pg_store_url: str, dump: Path, bad_lines: Path
) -> None:
    source = str(tmp_path / "source")
    replay(source, dump, bad_lines)
    events = raw_events(source)

    result = run("copy", "--from", source, "--to", pg_store_url, "--batch-size", "100", "--json")
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["complete"] and report["conflicts"] == 0
    assert report["copied"] == report["source_events"] == report["target_events"] == len(events)
    assert report["quarantine_lines"] == 3
    assert raw_events(pg_store_url) == events  # ids, versions, topics, states; in log order

    again = orjson.loads(run("copy", "--from", source, "--to", pg_store_url, "--json").stdout)
    assert (again["copied"], again["already_there"], again["complete"]) == (0, len(events), True)
    assert raw_events(pg_store_url) == events
    for options in ((), ("--as-of", "2025-02-01")):
        assert query(pg_store_url, *options) == query(source, *options)
    quarantined = run("quarantine", "--store", pg_store_url, "--json").stdout
    assert quarantined == run("quarantine", "--store", source, "--json").stdout


@pytest.mark.postgres
def test_an_interrupted_copy_finishes_when_run_again(
    tmp_path: Path, pg_store_url: str, dump: Path
) -> None:
    from replay.jobs.copy import copy_log
    from replay.store.location import open_store

    source = str(tmp_path / "source")
    replay(source, dump)

    def interrupt(position: int, last: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        copy_log(
            open_store(source, create=False),
            open_store(pg_store_url, create=True),
            batch_size=100,
            on_progress=interrupt,
        )
    assert len(raw_events(pg_store_url)) == 100
    report = orjson.loads(run("copy", "--from", source, "--to", pg_store_url, "--json").stdout)
    assert (report["already_there"], report["complete"]) == (100, True)
    assert raw_events(pg_store_url) == raw_events(source)


@pytest.mark.postgres
def test_copy_into_a_log_with_other_versions_of_the_same_events_reports_conflicts(
    tmp_path: Path, pg_store_url: str, dump: Path
) -> None:
    source = str(tmp_path / "source")
    replay(source, dump)
    replay(pg_store_url, dump)  # the same Canvas events, recorded at another time
    result = run("copy", "--from", source, "--to", pg_store_url, "--json")
    assert result.exit_code == 1
    assert "differ in the target" in result.output
    report = orjson.loads(result.stdout)
    assert report["conflicts"] > 0 and report["copied"] == 0
