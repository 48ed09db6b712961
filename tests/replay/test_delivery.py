"""`mastery gaps` and `mastery reconcile` on generated worlds whose losses are known exactly."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from projections.gap_flags import series_flags
from projections.gap_periods import GapSettings
from replay.cli.app import app
from replay.ingest.ingestor import Ingestor
from replay.ingest.sources import Location, RawRecord
from replay.jobs.pipeline import open_read_side
from replay.service import BadInput, MasteryService, question
from replay.service.synthetic import write_synthetic_world
from replay.store.quarantine import Quarantine

WORLD = {"seed": 7, "students": 500, "courses": 16, "results_per_student": 30}
DROP_DAY = "2025-02-04"
SILENT_FROM, SILENT_TO = date(2025, 2, 17), date(2025, 2, 23)
LOSSES = {
    "drop_fraction": 0.03,
    "drop_days": (DROP_DAY,),
    "silences": (f"learning_outcome_result_updated:{SILENT_FROM}:{SILENT_TO}",),
}


@dataclass
class World:
    dump: Path
    dropped: list[dict[str, Any]]
    delivered: list[dict[str, Any]]
    snapshot: Path
    store: Path


def _make_world(root: Path, name: str, fmt: str = "jsonl", **losses: Any) -> World:
    dump, dropped = root / f"{name}.jsonl", root / f"{name}-dropped.jsonl"
    with dump.open("wb") as target, dropped.open("wb") as lost:
        write_synthetic_world(
            target,
            cd2_snapshot=str(root / f"{name}-cd2"),
            cd2_format=fmt,
            dropped=lost,
            **losses,
            **WORLD,
        )
    store = root / f"{name}-store"
    MasteryService.open(str(store), create=True).replay([str(dump)])
    return World(
        dump,
        [orjson.loads(line) for line in dropped.read_bytes().splitlines()],
        [orjson.loads(line) for line in dump.read_bytes().splitlines()],
        root / f"{name}-cd2",
        store,
    )


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, World]:
    root = tmp_path_factory.mktemp("delivery")
    return {
        "clean": _make_world(root, "clean"),
        "lossy": _make_world(root, "lossy", **LOSSES),
    }


def _flagged(store: Path, **options: Any) -> set[str]:
    report = MasteryService.open(str(store)).gaps(late_answers=False, **options)
    return {flag["period"] for flag in report["flags"]}


# -- gaps -----------------------------------------------------------------------------


def test_gaps_flags_nothing_in_a_clean_dump(worlds: dict[str, World]) -> None:
    assert _flagged(worlds["clean"].store) == set()


def test_gaps_flags_exactly_the_dropped_day_and_the_silent_week(worlds: dict[str, World]) -> None:
    silent = {str(SILENT_FROM + timedelta(days=n)) for n in range(7)}
    assert _flagged(worlds["lossy"].store) == {DROP_DAY, *silent}
    report = MasteryService.open(str(worlds["lossy"].store)).gaps(late_answers=False)
    updated = {
        flag["period"]
        for flag in report["flags"]
        if flag["name"] == "learning_outcome_result_updated" and flag["flag"] == "silent"
    }
    assert silent <= updated  # the type itself, every day of its silence
    evidence = next(flag["evidence"] for flag in report["flags"] if flag["period"] == DROP_DAY)
    assert evidence["count"] == 0 and evidence["trailing_median"] >= 7


def test_gaps_counts_every_event_of_the_log_by_both_times(worlds: dict[str, World]) -> None:
    service = MasteryService.open(str(worlds["lossy"].store))
    report = service.gaps(late_answers=False)
    events = service.status().events
    assert sum(total["by_event_time"] for total in report["totals"]) == events
    assert sum(total["by_recorded_at"] for total in report["totals"]) == events
    by_day: dict[str, int] = {}
    for event in worlds["lossy"].delivered:
        if str(event["metadata"]["event_name"]).startswith(("learning_", "outcome_")):
            day = event["metadata"]["event_time"][:10]
            by_day[day] = by_day.get(day, 0) + 1
    shown = {t["period"]: t["by_event_time"] for t in report["totals"] if t["by_event_time"]}
    assert shown == by_day


def test_gaps_since_until_and_hours(worlds: dict[str, World]) -> None:
    service = MasteryService.open(str(worlds["lossy"].store))
    report = service.gaps(since="2025-02-01", until="2025-02-10", late_answers=False)
    assert report["periods"][0] == "2025-02-01" and report["periods"][-1] == "2025-02-10"
    hourly = service.gaps(by="hour", since="2025-02-03", until="2025-02-03", late_answers=False)
    assert len(hourly["periods"]) == 24
    assert hourly["periods"][0] == "2025-02-03T00"


def test_a_drop_is_flagged_with_its_evidence() -> None:
    periods = [f"2025-01-{day:02d}" for day in range(1, 12)]
    counts = [100, 90, 110, 95, 105, 100, 98, 3, 101, 99, 100]
    flags = series_flags("event_type", "x", periods, counts, GapSettings())
    assert [(flag["flag"], flag["period"]) for flag in flags] == [("drop", "2025-01-08")]
    assert flags[0]["evidence"]["trailing_median"] == 100


def _ingest_as_received(
    store: Path, deliveries: list[tuple[datetime, list[dict[str, Any]]]]
) -> None:
    """Record each batch at its own moment, as a live receiver would have."""
    service = MasteryService.open(str(store), create=True)
    for moment, events in deliveries:
        log = service.store.open_log()
        quarantine = Quarantine(service.store.quarantine_path)
        try:
            records = [
                RawRecord(Location("live", n), orjson.dumps(e), e, None)
                for n, e in enumerate(events, start=1)
            ]
            Ingestor(log, quarantine, clock=lambda moment=moment: moment).ingest(records)
        finally:
            quarantine.close()
            log.close()
    open_read_side(service.store).close()


def test_late_arrivals_duplicates_and_late_answers(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    write_synthetic_world(
        buffer, seed=3, students=120, courses=4, results_per_student=20, duplicates=0.05
    )
    events = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    by_day: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_day.setdefault(event["metadata"]["event_time"][:10], []).append(event)
    days = sorted(by_day)
    busy = max(days[5:-5], key=lambda day: len(by_day[day]))  # a day of grading sessions
    held = [e for e in by_day[busy] if "result" in e["metadata"]["event_name"]][::3]
    held_ids = {id(e) for e in held}
    deliveries = []
    for day in days:
        # recorded in the last millisecond of its day: a report at the day's end knew it
        moment = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(
            days=1, milliseconds=-1
        )
        deliveries.append((moment, [e for e in by_day[day] if id(e) not in held_ids]))
        if day == (date.fromisoformat(busy) + timedelta(days=3)).isoformat():
            deliveries.append((moment, held))
    if not any(e is held[0] for _, batch in deliveries for e in batch):
        late = datetime.fromisoformat(busy).replace(tzinfo=UTC) + timedelta(days=4)
        deliveries.append((late, held))
    deliveries.sort(key=lambda item: item[0])
    store = tmp_path / "live"
    _ingest_as_received(store, deliveries)

    report = MasteryService.open(str(store)).gaps()
    late = [flag for flag in report["flags"] if flag["flag"] == "late"]
    assert [flag["period"] for flag in late] == [busy]
    # the held events, but those that were copies of events delivered on time (duplicates)
    assert len(held) * 0.8 < late[0]["evidence"]["late_events"] <= len(held)
    duplicates = sum(total["duplicates"] for total in report["totals"])
    assert duplicates > 0
    answers = {row["period"]: row for row in report["late_answers"]}
    assert answers[busy]["changed"] > 0
    assert answers[busy]["candidates"] >= answers[busy]["changed"]
    on_time = [row for period, row in answers.items() if period < busy]
    assert all(row["changed"] == 0 for row in on_time), [r for r in on_time if r["changed"]][:3]
    delays = [t["delay_p50_s"] for t in report["totals"] if t["delay_p50_s"] is not None]
    assert delays and max(delays) < 2 * 86400


def test_gaps_command_formats(worlds: dict[str, World]) -> None:
    store = str(worlds["lossy"].store)
    runner = CliRunner()
    table = runner.invoke(app, ["gaps", "--store", store, "--no-late-answers"])
    assert table.exit_code == 0, table.output
    assert "silent" in table.output and DROP_DAY in table.output
    as_csv = runner.invoke(app, ["gaps", "--store", store, "--format", "csv"])
    assert as_csv.exit_code == 0
    header, *rows = as_csv.output.splitlines()
    assert header.startswith("period,canvas_event,by_event_time")
    assert any(row.startswith(f"{DROP_DAY},*,0,") and "silent" in row for row in rows)
    as_json = runner.invoke(app, ["gaps", "--store", store, "--format", "json", "--by", "hour"])
    assert orjson.loads(as_json.output)["by"] == "hour"


# -- reconcile --------------------------------------------------------------------------


def _result_ids(events: list[dict[str, Any]]) -> set[str]:
    return {
        str(e["body"]["id"])
        for e in events
        if e["metadata"]["event_name"].startswith("learning_outcome_result_")
        and e["body"].get("id") is not None
    }


def test_reconcile_finds_exactly_the_dropped_results(worlds: dict[str, World]) -> None:
    world = worlds["lossy"]
    report = MasteryService.open(str(world.store)).reconcile(str(world.snapshot))
    lost_entirely = _result_ids(world.dropped) - _result_ids(world.delivered)
    assert {item["id"] for item in report["missing_from_log"]} == lost_entirely
    assert report["not_in_cd2"] == []
    # results of which a later version was lost: the log has an older state, or missed
    # the deletion
    touched = _result_ids(world.dropped) & _result_ids(world.delivered)
    differing = {item["id"] for item in report["mismatches"]} | {
        item["id"] for item in report["deleted_in_cd2"]
    }
    assert differing and differing <= touched
    assert report["differs"]


def test_reconcile_of_a_complete_log_finds_nothing(worlds: dict[str, World]) -> None:
    world = worlds["clean"]
    result = CliRunner().invoke(
        app, ["reconcile", "--store", str(world.store), "--cd2", str(world.snapshot)]
    )
    assert result.exit_code == 0, result.output
    assert "missing from the log" in result.output


@pytest.mark.slow
def test_backfill_makes_the_rollups_those_of_the_complete_dump(
    worlds: dict[str, World], tmp_path: Path
) -> None:
    world = worlds["lossy"]
    store = tmp_path / "store"
    MasteryService.open(str(store), create=True).replay([str(world.dump)])
    service = MasteryService.open(str(store))
    result = CliRunner().invoke(
        app, ["reconcile", "--store", str(store), "--cd2", str(world.snapshot), "--backfill"]
    )
    assert result.exit_code == 1  # there was something to repair
    after = service.reconcile(str(world.snapshot))
    assert after["summary"]["missing_from_log"] == 0
    assert after["summary"]["mismatched"] == 0 and after["summary"]["deleted_in_cd2"] == 0
    complete = MasteryService.open(str(worlds["clean"].store))
    assert service.rollups(question()) == complete.rollups(question())
    backfilled = service.status().backfilled_by_type
    missing = len(_result_ids(world.dropped) - _result_ids(world.delivered))
    assert backfilled["learning_outcome_result_created"] == missing
    again = service.reconcile(str(world.snapshot), backfill=True)
    assert again["backfill"]["appended"] == 0
    gaps = service.gaps(late_answers=False)
    assert sum(total["backfilled"] for total in gaps["totals"]) == sum(backfilled.values())


@pytest.mark.slow
def test_reconcile_reads_the_csv_snapshot_alike(worlds: dict[str, World], tmp_path: Path) -> None:
    world = worlds["lossy"]
    csv_dir = tmp_path / "csv"
    write_synthetic_world(
        io.BytesIO(), cd2_snapshot=str(csv_dir), cd2_format="csv", **LOSSES, **WORLD
    )
    service = MasteryService.open(str(world.store))
    from_csv = service.reconcile(str(csv_dir))
    from_jsonl = service.reconcile(str(world.snapshot))
    assert from_csv["summary"] == from_jsonl["summary"]
    assert from_csv["snapshot"]["at"] == from_jsonl["snapshot"]["at"]


def _part(directory: Path) -> Path:
    return next((directory / "learning_outcome_results").glob("part-*"))


def _snapshot_copy(world: World, target: Path) -> Path:
    for source in world.snapshot.rglob("*.gz"):
        destination = target / source.relative_to(world.snapshot)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
    return target


def _jsonl_lines(part: Path) -> list[bytes]:
    return gzip.decompress(part.read_bytes()).splitlines()


@pytest.mark.parametrize("damage", ["truncated-gzip", "not-an-object", "csv-missing-columns"])
def test_a_bad_snapshot_file_is_named_with_its_line_and_nothing_is_appended(
    worlds: dict[str, World], tmp_path: Path, damage: str
) -> None:
    world = worlds["lossy"]
    snapshot = _snapshot_copy(world, tmp_path / "cd2")
    part = _part(snapshot)
    if damage == "truncated-gzip":
        data = part.read_bytes()
        part.write_bytes(data[: len(data) // 2])
        expected = f"{part}:"
    elif damage == "not-an-object":
        lines = _jsonl_lines(part)
        lines[41] = b'["key", "value"]'
        part.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
        expected = f"{part}:42: a JSON line of a snapshot is an object"
    else:
        part.unlink()
        bad = part.with_name("part-00000-x.csv")
        bad.write_text("meta.ts,key.id,value.learning_outcome_id,value.user_uuid\n")
        expected = f"{bad}:1: learning_outcome_results without the column(s) context_id"
    service = MasteryService.open(str(world.store))
    head = service.log_head()
    with pytest.raises(BadInput) as raised:
        service.reconcile(str(snapshot), backfill=True)
    assert expected in str(raised.value)
    assert service.log_head() == head
    result = CliRunner().invoke(
        app, ["reconcile", "--store", str(world.store), "--cd2", str(snapshot), "--backfill"]
    )
    assert result.exit_code == 2 and "error:" in result.output


def test_generate_keeps_its_default_output_and_drops_what_it_says(tmp_path: Path) -> None:
    from replay.service.synthetic import write_synthetic_dump

    plain, world = io.BytesIO(), io.BytesIO()
    write_synthetic_dump(plain, seed=3, students=40)
    written, lost = write_synthetic_world(world, seed=3, students=40, cd2_snapshot=None)
    assert plain.getvalue() == world.getvalue() and lost == {}
    dropped = io.BytesIO()
    lossy = io.BytesIO()
    _, lost = write_synthetic_world(
        lossy, seed=3, students=40, drop_days=("2025-01-13",), dropped=dropped
    )
    kept = lossy.getvalue().splitlines()
    gone = dropped.getvalue().splitlines()
    assert len(kept) + len(gone) == written and lost == {"day": len(gone)}
    assert all(
        orjson.loads(line)["metadata"]["event_time"].startswith("2025-01-13") for line in gone
    )
