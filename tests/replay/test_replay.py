from __future__ import annotations

import copy
import gzip
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from domain.events import EVENT_TYPES, PERSONAL_METADATA
from tests.replay.helpers import (
    log_contents,
    replay_json,
    run,
    stored_events,
    versions_are_contiguous,
)


def write_jsonl(path: Path, envelopes: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(envelope) + b"\n" for envelope in envelopes))
    return path


@pytest.fixture
def reference_dump(tmp_path: Path, reference_payloads_by_name: dict[str, Any]) -> Path:
    return write_jsonl(tmp_path / "reference.jsonl", list(reference_payloads_by_name.values()))


def test_every_learning_event_type_is_appended(tmp_path: Path, reference_dump: Path) -> None:
    summary = replay_json(tmp_path / "store", reference_dump)
    assert summary["read"] == summary["appended"] == len(EVENT_TYPES)
    assert set(summary["appended_by_type"]) == set(EVENT_TYPES)
    assert summary["quarantined"] == 0
    names = {event["canvas_event"] for event in stored_events(tmp_path / "store")}
    assert names == set(EVENT_TYPES)


def test_each_domain_event_carries_the_canvas_time_and_the_known_time(
    tmp_path: Path, reference_dump: Path
) -> None:
    replay_json(tmp_path / "store", reference_dump)
    for event in stored_events(tmp_path / "store"):
        assert event["timestamp"].startswith(event["metadata"]["event_time"][:19])
        assert event["recorded_at"] > "2026"


def test_replaying_the_same_dump_again_appends_nothing(
    tmp_path: Path, reference_dump: Path
) -> None:
    store = tmp_path / "store"
    replay_json(store, reference_dump)
    before = stored_events(store)
    again = replay_json(store, reference_dump)
    assert again["appended"] == 0
    assert again["duplicates"] == len(EVENT_TYPES)
    assert stored_events(store) == before


def test_duplicates_across_files_are_stored_once(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    envelopes = list(reference_payloads_by_name.values())
    first = write_jsonl(tmp_path / "a.jsonl", envelopes[:6])
    redelivered = [dict(envelope) for envelope in envelopes[3:]]
    for envelope in redelivered:
        envelope["metadata"] = {**envelope["metadata"], "request_id": "retry-2"}
    second = write_jsonl(tmp_path / "b.jsonl", redelivered)
    summary = replay_json(tmp_path / "store", first, second)
    assert summary["appended"] == len(envelopes)
    assert summary["duplicates"] == 3


def test_duplicates_within_one_file_are_counted(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    envelope = reference_payloads_by_name["learning_outcome_result_created"]
    dump = write_jsonl(tmp_path / "dup.jsonl", [envelope, envelope, envelope])
    summary = replay_json(tmp_path / "store", dump)
    assert (summary["appended"], summary["duplicates"]) == (1, 2)


def test_events_of_other_types_are_skipped_and_counted(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    firehose = [
        {
            "metadata": {"event_name": "logged_in", "event_time": "2024-01-01T00:00:00Z"},
            "body": {"redirect_url": "x"},
        },
        reference_payloads_by_name["learning_outcome_created"],
        {"metadata": {"event_name": "submission_created"}, "body": {}},
    ]
    summary = replay_json(tmp_path / "store", write_jsonl(tmp_path / "f.jsonl", firehose))
    assert summary["not_learning"] == 2
    assert summary["appended"] == 1
    assert summary["quarantined"] == 0


def test_personal_metadata_never_reaches_the_log(tmp_path: Path, reference_dump: Path) -> None:
    replay_json(tmp_path / "store", reference_dump)
    for event in stored_events(tmp_path / "store"):
        assert PERSONAL_METADATA.isdisjoint(event["metadata"])
    raw_log = (tmp_path / "store" / "log.sqlite").read_bytes()
    assert b"oxana@example.com" not in raw_log
    assert b"93.184.216.34" not in raw_log


def test_personal_metadata_is_kept_on_request(tmp_path: Path, reference_dump: Path) -> None:
    replay_json(tmp_path / "store", reference_dump, extra=("--keep-request-metadata",))
    logins = {event["metadata"].get("user_login") for event in stored_events(tmp_path / "store")}
    assert "oxana@example.com" in logins


def test_stdin_and_gzip_are_read(tmp_path: Path, reference_dump: Path) -> None:
    compressed = tmp_path / "reference.jsonl.gz"
    compressed.write_bytes(gzip.compress(reference_dump.read_bytes()))
    via_gzip = replay_json(tmp_path / "one", compressed)
    result = run(
        "replay", "--store", str(tmp_path / "two"), "--json", "-", input=reference_dump.read_bytes()
    )
    assert result.exit_code == 0, result.output
    assert via_gzip["appended"] == orjson.loads(result.stdout)["appended"] == len(EVENT_TYPES)
    assert log_contents(tmp_path / "one") == log_contents(tmp_path / "two")


def test_the_replay_goes_on_past_bad_lines(tmp_path: Path, reference_dump: Path) -> None:
    lines = reference_dump.read_bytes().splitlines(keepends=True)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]) + b"[1,2]\n")
    summary = replay_json(tmp_path / "store", mixed)
    assert summary["appended"] == len(EVENT_TYPES)
    assert summary["quarantined_by_reason"] == {"not-json": 1, "not-an-object": 1}


def test_strict_mode_stops_at_the_first_bad_line_with_its_location(
    tmp_path: Path, reference_dump: Path
) -> None:
    lines = reference_dump.read_bytes().splitlines(keepends=True)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(lines[0] + lines[1] + b"{not json\n" + b"".join(lines[2:]))
    store = tmp_path / "store"
    result = run("replay", "--store", str(store), "--strict", str(mixed))
    assert result.exit_code == 1
    assert f"{mixed}:3" in result.stderr
    assert "not-json" in result.stderr
    assert len(stored_events(store)) == 2  # what came before the bad line is kept
    listing = run("quarantine", "--store", str(store), "--json")
    assert listing.stdout == ""


def test_status_reports_what_the_store_holds(
    tmp_path: Path, reference_dump: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    times = sorted(e["metadata"]["event_time"] for e in reference_payloads_by_name.values())
    store = tmp_path / "store"
    replay_json(store, reference_dump)
    result = run("status", "--store", str(store), "--json")
    assert result.exit_code == 0, result.output
    status = orjson.loads(result.stdout)
    assert status["events"] == len(EVENT_TYPES)
    assert sum(status["events_by_type"].values()) == len(EVENT_TYPES)
    assert status["first_event_time"].startswith(times[0][:19])
    assert status["last_event_time"].startswith(times[-1][:19])
    assert status["quarantined"] == 0


def test_status_of_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    result = run("status", "--store", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "mastery replay" in result.stderr


def test_the_store_comes_from_the_environment(
    tmp_path: Path, reference_dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTERY_STORE", str(tmp_path / "from-env"))
    result = run("replay", "--json", str(reference_dump))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env" / "log.sqlite").exists()


def test_a_store_of_a_newer_format_is_refused(tmp_path: Path, reference_dump: Path) -> None:
    store = tmp_path / "store"
    replay_json(store, reference_dump)
    (store / "store.json").write_text('{"format": 99}')
    result = run("replay", "--store", str(store), str(reference_dump))
    assert result.exit_code == 2
    assert "newer" in result.stderr


def test_a_missing_dump_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run("replay", "--store", str(tmp_path / "store"), str(tmp_path / "absent.jsonl"))
    assert result.exit_code == 2
    assert "absent.jsonl" in result.stderr


def test_the_summary_lists_what_a_directory_held_that_was_not_read(
    tmp_path: Path, reference_dump: Path
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    reference_dump.rename(dumps / "reference.jsonl")
    (dumps / "a.log").write_text("x\n")
    (dumps / "b.jsonl.bz2").write_bytes(b"BZh9")
    os.symlink("/dev/null", dumps / "c.jsonl")  # never opened (a FIFO would block)

    summary = replay_json(tmp_path / "store", dumps)

    assert summary["appended"] > 0
    assert summary["skipped"] == [
        {
            "path": str(dumps / "a.log"),
            "reason": "not a dump file (.jsonl, .ndjson or .json, optionally .gz)",
        },
        {
            "path": str(dumps / "b.jsonl.bz2"),
            "reason": "not a dump file (.jsonl, .ndjson or .json, optionally .gz)",
        },
        {"path": str(dumps / "c.jsonl"), "reason": "a device, never opened"},
    ]
    table = run("replay", "--store", str(tmp_path / "store"), str(dumps))
    assert table.exit_code == 0, table.output
    assert "files skipped" in table.stdout
    assert "a device, never opened" in table.stdout


def test_assume_utc_stores_a_dump_re_exported_without_time_zones(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    envelope = copy.deepcopy(reference_payloads_by_name["learning_outcome_created"])
    envelope["metadata"]["event_time"] = "2024-09-02 10:30:00"  # the fixture is shared
    dump = write_jsonl(tmp_path / "reexported.jsonl", [envelope])

    refused = replay_json(tmp_path / "a", dump)
    assert refused["quarantined_by_reason"] == {"wrong-type": 1}
    shown = run("quarantine", "--store", str(tmp_path / "a"), "--json")
    assert "--assume-utc" in orjson.loads(shown.stdout)["detail"]

    stored = replay_json(tmp_path / "b", dump, extra=("--assume-utc",))
    assert stored["appended"] == 1 and stored["quarantined"] == 0
    assert stored_events(tmp_path / "b")[0]["metadata"]["event_time"] == "2024-09-02T10:30:00.000Z"


def test_the_log_versions_are_contiguous_per_aggregate(
    tmp_path: Path, reference_dump: Path
) -> None:
    replay_json(tmp_path / "store", reference_dump)
    assert versions_are_contiguous(tmp_path / "store")
