"""A stored event the read models cannot hold is recorded as such; it never stops them.

The events here are written into the log bypassing the parser, as an older version
of it let them through: the log is immutable, so the projections must live with them.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.events import CanvasEvent, parse_event
from projections import mastery
from replay.ingest.ingestor import Ingestor
from replay.ingest.parsing import ParsedBatch
from replay.store.location import open_store
from replay.store.quarantine import Quarantine
from tests.builders import mastery_scale, outcome, result
from tests.conftest import NOW
from tests.projections.helpers import query, replay_events
from tests.projections.test_rebuild import TABLES, table_rows
from tests.replay.helpers import run

DAY = "2025-02-{:02d}T10:00:00Z".format


def bypassing_the_parser(store: Path, envelope: dict[str, Any], **body: Any) -> None:
    """Append the event with `body` changed after validation, as if the parser let it by."""
    event = parse_event(envelope, now=NOW)
    assert isinstance(event, CanvasEvent), event
    poisoned = dataclasses.replace(event, body={**event.body, **body})
    opened = open_store(str(store), create=True)
    log = opened.open_log()
    quarantine = Quarantine(opened.quarantine_path)
    try:
        Ingestor(log, quarantine).ingest_batches([ParsedBatch(events=[poisoned], read=1)])
    finally:
        quarantine.close()
        log.close()


def held_back(store: Path) -> list[tuple[int, str, str]]:
    connection = sqlite3.connect(store / "read-models.sqlite")
    try:
        return connection.execute(
            "SELECT position, canvas_event, reason FROM unprojectable_events ORDER BY position"
        ).fetchall()
    finally:
        connection.close()


def poisoned_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("10", 4, at=DAY(1))])
    bypassing_the_parser(store, result("11", 5, at=DAY(2)), attempt=2**63)
    bypassing_the_parser(store, result("12", 5, at=DAY(3)), score="five")
    bypassing_the_parser(store, mastery_scale("7", at=DAY(4)), outcome_proficiency_ratings=[1])
    replay_events(store, [result("13", 2, at=DAY(5))])
    return store


def test_a_stored_integer_past_64_bits_is_held_back_and_the_rest_projected(
    tmp_path: Path,
) -> None:
    store = poisoned_store(tmp_path)
    found = held_back(store)
    assert [(p, e) for p, e, _ in found] == [
        (3, "learning_outcome_result_created"),
        (4, "learning_outcome_result_created"),
        (5, "outcome_proficiency_created"),
    ]
    assert "result_versions.attempt" in found[0][2] and "64-bit" in found[0][2]
    assert "result_versions.score" in found[1][2]
    assert "rating" in found[2][2]
    (row,) = query(store)
    assert (row["count"], row["score"]) == (2, 4.0)  # results 10 and 13


def test_verify_and_status_show_the_held_back_events(tmp_path: Path) -> None:
    store = poisoned_store(tmp_path)
    verified = run("verify", "--store", str(store), "--json")
    assert verified.exit_code == 0, verified.stdout  # the log is intact
    report = orjson.loads(verified.stdout)
    assert report["unprojectable_events"] == 3
    assert any("log position 3" in note and "attempt" in note for note in report["notes"])
    status = orjson.loads(run("status", "--store", str(store), "--json").stdout)
    assert status["unprojectable_events"] == 3
    assert "stored, not projected" in run("status", "--store", str(store)).stdout


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk-load", "event-by-event"])
def test_incremental_and_rebuild_give_identical_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bulk: bool
) -> None:
    store = poisoned_store(tmp_path)
    compared = (*TABLES, "unprojectable_events", "outcome_group_versions")
    incremental = {table: table_rows(store, table) for table in compared}
    monkeypatch.setattr(mastery, "BULK_LOAD_NEW_READ_MODELS", bulk)
    assert run("rebuild", "--store", str(store)).exit_code == 0
    rebuilt = {table: table_rows(store, table) for table in compared}
    assert rebuilt == incremental


def test_a_store_poisoned_before_this_fix_recovers_with_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the screening every query stopped at the event; a rebuild gets past it."""
    from projections import unprojectable

    store = tmp_path / "store"
    replay_events(store, [outcome("1"), result("10", 4, at=DAY(1))])
    bypassing_the_parser(store, result("11", 5, at=DAY(2)), attempt=2**63)
    with monkeypatch.context() as before_the_fix:
        before_the_fix.setattr(unprojectable, "column_problem", lambda kinds, row: None)
        for _ in range(2):  # every time
            with pytest.raises(OverflowError):
                run("query", "--store", str(store))
    # read models of the previous format are refused until rebuilt
    connection = sqlite3.connect(store / "read-models.sqlite")
    connection.execute("UPDATE meta SET value = '12' WHERE key = 'format'")
    connection.commit()
    connection.close()
    refused = run("query", "--store", str(store))
    assert refused.exit_code == 2 and "mastery rebuild" in " ".join(refused.stderr.split())

    assert run("rebuild", "--store", str(store)).exit_code == 0
    (row,) = query(store)
    assert row["count"] == 1
    assert [p for p, _, _ in held_back(store)] == [3]
