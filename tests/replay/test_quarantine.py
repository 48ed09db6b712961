"""A corpus of bad lines: each is quarantined with its place and reason, none stops
the replay, none changes what was stored before."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.jobs.pipeline import ReplayOptions, run_replay
from replay.store.location import open_store
from tests.replay.helpers import log_contents, replay_json, run, stored_events


def b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def bad_lines(good: dict[str, Any]) -> list[tuple[bytes, str]]:
    """(line, expected reason) for every kind of bad line we know of."""

    def variant(change: Any) -> bytes:
        event = orjson.loads(orjson.dumps(good))
        change(event)
        return orjson.dumps(event)

    return [
        (b'{"metadata": {"event_name": "learning_outcome_created"', "not-json"),
        (b"{'single': 'quotes'}", "not-json"),
        (b'{"metadata": {"event_time": NaN}}', "not-json"),
        (b"\xff\xfe\x00garbage", "invalid-utf8"),
        (b"[1, 2, 3]", "not-an-object"),
        (b'"just a string"', "not-an-object"),
        (b'{"body": {}}', "missing-metadata"),
        (variant(lambda e: e["metadata"].pop("event_name")), "missing-event-name"),
        (variant(lambda e: e["metadata"].pop("event_time")), "missing-event-time"),
        (variant(lambda e: e["metadata"].__setitem__("event_time", "yesterday")), "wrong-type"),
        (
            variant(lambda e: e["metadata"].__setitem__("event_time", "1970-01-01T00:00:00Z")),
            "implausible-event-time",
        ),
        (variant(lambda e: e.pop("body")), "missing-body"),
        (variant(lambda e: e["body"].pop("learning_outcome_id")), "missing-entity-id"),
        (variant(lambda e: e["body"].__setitem__("learning_outcome_id", {"id": 1})), "wrong-type"),
        (variant(lambda e: e["body"].__setitem__("calculation_int", "sixty")), "wrong-type"),
        (variant(lambda e: e["body"].__setitem__("calculation_int", 2**63)), "out-of-range"),
        (variant(lambda e: e["body"].__setitem__("rubric_criterion", [])), "wrong-type"),
        (b'{"MessageId": "1", "Body": "{not json"}', "bad-sqs-body"),
        (b"eyJhbGciOiJSUzI1NiJ9." + b64(b"[1,2]") + b".c2ln", "bad-jwt"),
        (b"eyJhbGciOiJSUzI1NiJ9.abcde.c2ln", "bad-jwt"),
        (b"x" * 8192, "line-too-long"),
    ]


def test_each_kind_of_bad_line_is_quarantined_with_its_place_and_reason(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    good = reference_payloads_by_name["learning_outcome_created"]
    corpus = bad_lines(good)
    assert len(corpus) >= 15
    assert len({reason for _, reason in corpus}) >= 12
    dump = tmp_path / "corpus.jsonl"
    dump.write_bytes(b"".join(line + b"\n" for line, _ in corpus) + orjson.dumps(good) + b"\n")

    store = tmp_path / "store"
    # a small line limit keeps the over-long line small in the test
    options = ReplayOptions(max_line_bytes=4096)
    summary = run_replay(open_store(str(store), create=True), [str(dump)], options)
    assert summary.appended == 1
    assert summary.quarantined_total == len(corpus)

    listing = run("quarantine", "--store", str(store), "--json")
    records = [orjson.loads(line) for line in listing.stdout.splitlines()]
    by_line = {record["line"]: record for record in records}
    for number, (line, reason) in enumerate(corpus, start=1):
        record = by_line[number]
        assert record["source"] == str(dump)
        assert record["reason"] == reason, (number, line[:60], record["detail"])
        assert record["detail"]


def test_bad_input_changes_nothing_already_stored(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    store = tmp_path / "store"
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in reference_payloads_by_name.values()))
    replay_json(store, good)
    before = stored_events(store)

    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "binary.jsonl").write_bytes(bytes(range(256)) * 64)
    (hostile / "truncated.jsonl.gz").write_bytes(gzip.compress(good.read_bytes())[:300])
    (hostile / "empty.jsonl").write_bytes(b"")
    (hostile / "array.json").write_bytes(b'[{"metadata": 1}, 2, "x"]')
    (hostile / "deep.jsonl").write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    summary = replay_json(store, hostile)
    assert summary["appended"] == 0
    assert summary["quarantined"] > 0
    assert stored_events(store)[: len(before)] == before
    assert len(stored_events(store)) == len(before)


def test_the_same_bad_dump_replayed_twice_is_quarantined_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    dump = tmp_path / "bad.jsonl"
    dump.write_bytes(b"{nope\n[1]\n")
    replay_json(store, dump)
    replay_json(store, dump)
    listing = run("quarantine", "--store", str(store), "--json")
    assert len(listing.stdout.splitlines()) == 2


SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("metadata", "root_account_id", "\u00b2"),  # isdigit() yet int() refuses it
        ("metadata", "root_account_id", "\uff12\uff11\uff10\uff17"),  # int() reads it as 2107
        ("body", "learning_outcome_id", "\u0662\u0660\u0660\u0661"),  # Arabic-Indic 2001
        ("metadata", "context_account_id", "1\u00b9"),
    ],
)
def test_an_id_of_non_ascii_digits_is_quarantined_and_the_replay_goes_on(
    tmp_path: Path, where: str, field: str, value: str
) -> None:
    """Once, such a line stopped every replay with a ValueError from `int()`."""
    first, *rest = SAMPLE.read_bytes().splitlines(keepends=True)[:20]
    event = orjson.loads(first)
    event[where][field] = value
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(orjson.dumps(event) + b"\n" + b"".join(rest))
    store = tmp_path / "store"
    for _ in range(2):  # and on every rerun
        summary = replay_json(store, dump)
        assert summary["quarantined"] <= 1
    listing = run("quarantine", "--store", str(store), "--json")
    (record,) = [orjson.loads(line) for line in listing.stdout.splitlines()]
    assert (record["line"], record["reason"]) == (1, "wrong-type")
    assert field in record["detail"] and "not a Canvas id" in record["detail"]
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(rest))
    replay_json(tmp_path / "clean-store", clean)
    assert log_contents(store) == log_contents(tmp_path / "clean-store")
    assert run("query", "--store", str(store)).exit_code == 0


def test_an_attempt_past_64_bits_is_quarantined_and_the_store_stays_usable(
    tmp_path: Path, reference_payloads_by_name: dict[str, Any]
) -> None:
    """Once, such an integer was appended to the log and stopped every projection."""
    good = reference_payloads_by_name["learning_outcome_result_created"]
    bad = orjson.loads(orjson.dumps(good))
    bad["body"]["attempt"] = 2**63
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(orjson.dumps(bad) + b"\n" + orjson.dumps(good) + b"\n")
    store = tmp_path / "store"
    summary = replay_json(store, dump)
    assert (summary["appended"], summary["quarantined_by_reason"]) == (1, {"out-of-range": 1})
    listing = run("quarantine", "--store", str(store), "--json")
    (record,) = [orjson.loads(line) for line in listing.stdout.splitlines()]
    assert "body.attempt" in record["detail"]
    assert run("query", "--store", str(store)).exit_code == 0


def _quarantined(store: Path) -> list[dict[str, Any]]:
    result = run("quarantine", "--store", str(store), "--json")
    assert result.exit_code == 0, result.output
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def test_a_half_written_last_line_is_resolved_when_a_later_replay_reads_it_whole(
    tmp_path: Path, payload: Any
) -> None:
    store = tmp_path / "store"
    dump = tmp_path / "growing.jsonl"
    first, second = (
        orjson.dumps(payload("learning_outcome_created")),
        orjson.dumps(payload("learning_outcome_result_created")),
    )
    dump.write_bytes(first + b"\n" + second[:57])  # the writer is midway through line 2
    summary = replay_json(store, dump)
    assert summary["quarantined_by_reason"] == {"not-json": 1}
    assert [(q["line"], q["reason"]) for q in _quarantined(store)] == [(2, "not-json")]

    dump.write_bytes(first + b"\n" + second + b"\n")  # finished
    summary = replay_json(store, dump)

    assert summary["appended"] == 1 and summary["quarantine_resolved"] == 1
    assert _quarantined(store) == []


def test_a_truncated_gzip_is_resolved_when_the_finished_file_is_read(
    tmp_path: Path, payload: Any
) -> None:
    store = tmp_path / "store"
    dump = tmp_path / "growing.jsonl.gz"
    lines = b"".join(
        orjson.dumps(payload(name)) + b"\n"
        for name in ("learning_outcome_created", "learning_outcome_result_created")
    )
    whole = gzip.compress(lines)
    dump.write_bytes(whole[: len(whole) - 12])  # no gzip trailer yet
    assert replay_json(store, dump)["quarantined"] == 1
    dump.write_bytes(whole)
    summary = replay_json(store, dump)
    assert summary["quarantine_resolved"] == 1
    assert _quarantined(store) == []


def test_another_input_at_the_same_place_does_not_resolve_an_entry(
    tmp_path: Path, payload: Any
) -> None:
    """stdin is always "-": a good line 1 of another stream is not the bad line 1 fixed."""
    store = tmp_path / "store"
    run("replay", "--store", str(store), "-", input=b'{"metadata": {"event_na\n')
    good = orjson.dumps(payload("learning_outcome_created")) + b"\n"
    result = run("replay", "--store", str(store), "--json", "-", input=good)
    assert orjson.loads(result.stdout)["quarantine_resolved"] == 0
    assert [q["reason"] for q in _quarantined(store)] == ["not-json"]


def test_quarantine_clear_deletes_by_reason_and_source_and_says_how_many(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    a = tmp_path / "a.jsonl"
    a.write_bytes(b"{not json\n[1]\n{half")
    b = tmp_path / "b.jsonl"
    b.write_bytes(b"{also not json\n")
    replay_json(store, a, b)
    assert len(_quarantined(store)) == 4

    result = run(
        "quarantine", "--store", str(store), "--clear", "--reason", "not-json", "--source", str(a)
    )
    assert result.exit_code == 0, result.output
    assert "cleared 2 quarantined lines" in result.stdout
    assert sorted((q["source"], q["reason"]) for q in _quarantined(store)) == [
        (str(a), "not-an-object"),
        (str(b), "not-json"),
    ]
    result = run("quarantine", "--store", str(store), "--clear", "--json")
    assert orjson.loads(result.stdout) == {"cleared": 2}
    assert _quarantined(store) == []
