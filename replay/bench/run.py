"""The benchmark: what a replay, a rebuild and a point-in-time question cost here.

Every figure is measured in one run, next to a floor measured in the same run on the
same file (reading it and `orjson.loads` of every line; the same plus a raw batched
SQLite append), because these machines are noisy and only ratios travel. Replay and
rebuild run as whole processes (`python -m replay ...`), as a user runs them, and
their peak RSS comes from the operating system (`wait4`).

    python -m replay.bench --events 1000000 --json bench.json
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from replay.bench.duckdb_reference import duckdb_reference
from replay.bench.processes import run_measured, start_launcher, stop_launcher
from replay.bench.questions import big_course_grid, point_in_time
from replay.synthetic.generate import (
    GeneratorSettings,
    estimate_events,
    generate_events,
    write_dump,
)

FLOOR_BATCH = 5_000


@dataclass
class Figures:
    events: int = 0
    dump_bytes: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, step: str, seconds: float, **values: Any) -> dict[str, Any]:
        row = {"step": step, "seconds": round(seconds, 3), **values}
        if self.events and seconds > 0 and "events_per_second" not in values:
            row["events_per_second"] = round(self.events / seconds)
        self.rows.append(row)
        return row


def settings_for(events: int, seed: int) -> GeneratorSettings:
    """Generator settings giving about `events` events: students grow, the rest stays."""
    base = GeneratorSettings(
        students=100,
        outcomes=12,
        results_per_student=60,
        seed=seed,
        duplicates=0.02,
        shuffle_seconds=3600,
        legacy=0.01,
    )
    per_student = estimate_events(base) / base.students
    students = max(1, round(events / per_student))
    return GeneratorSettings(
        students=students,
        outcomes=12,
        results_per_student=60,
        seed=seed,
        duplicates=0.02,
        shuffle_seconds=3600,
        legacy=0.01,
    )


def floor_loads(dump: Path) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    with dump.open("rb") as lines:
        for line in lines:
            orjson.loads(line)
            count += 1
    return time.perf_counter() - started, count


def floor_append(dump: Path, scratch: Path) -> float:
    """Read, parse, and append every line raw to SQLite in batches (WAL)."""
    connection = sqlite3.connect(scratch)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT, body BLOB)")
    started = time.perf_counter()
    batch: list[tuple[str, bytes]] = []
    with dump.open("rb") as lines:
        for line in lines:
            event = orjson.loads(line)
            batch.append((event["metadata"]["event_name"], line))
            if len(batch) >= FLOOR_BATCH:
                with connection:
                    connection.executemany("INSERT INTO events (name, body) VALUES (?, ?)", batch)
                batch.clear()
    with connection:
        connection.executemany("INSERT INTO events (name, body) VALUES (?, ?)", batch)
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


REPLAY_STAGES = {
    "mastery-parse": "parser",
    "main": "appender",
    "mastery-project": "projection",
    "mastery-finish": "finish helper",
}
"""A replay's processes (replay/process_name.py) by the stage each is."""


REBUILD_STAGES = {"main": "rebuild", "mastery-finish": "finish helper"}


def command_row(
    figures: Figures, step: str, ran: dict[str, Any], stages: dict[str, str]
) -> dict[str, Any]:
    """A measured command's row: wall time, memory (largest process, summed, each), CPU."""
    return figures.add(
        step,
        ran["seconds"],
        peak_rss_mb=ran["max_rss_bytes"] >> 20,
        peak_rss_sum_mb=ran["max_rss_sum_bytes"] >> 20,
        peak_rss_mb_by_process=ran["peak_rss_mb_by_process"],
        **stage_cpu(ran, figures.events, stages),
    )


def stage_cpu(ran: dict[str, Any], events: int, stages: dict[str, str]) -> dict[str, Any]:
    """CPU time of a command, in all and per event for each stage (its processes)."""
    by_stage: dict[str, float] = {}
    for process, seconds in ran["cpu_by_process"].items():
        stage = stages.get(process, process)
        by_stage[stage] = by_stage.get(stage, 0.0) + seconds
    per_event = {
        stage: round(seconds / max(events, 1) * 1e6, 1) for stage, seconds in by_stage.items()
    }
    return {
        "cpu_seconds": round(ran["cpu_seconds"], 2),
        # multiprocessing's resource tracker (a spawned helper's) shows as an idle `python`
        "cpu_us_per_event": {stage: value for stage, value in per_event.items() if value > 0},
    }


def directory_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def benchmark(
    events: int, seed: int, workdir: Path, console: Console, *, grid: bool = True
) -> Figures:
    figures = Figures()
    dump = workdir / "dump.jsonl"
    console.print(f"generating about {events:,} events ...")
    with dump.open("wb") as out:
        figures.events = write_dump(settings_for(events, seed), out)
    figures.dump_bytes = dump.stat().st_size
    figures.extra["generator_first_events_s"] = round(generator_start(), 3)

    loads_seconds, _ = floor_loads(dump)
    floor = figures.add("floor: read + orjson.loads", loads_seconds)
    append_seconds = floor_append(dump, workdir / "floor.sqlite")
    append_floor = figures.add("floor: + raw SQLite append (WAL, 5,000/commit)", append_seconds)
    reference = duckdb_reference(dump)  # None without the `bench` extra
    if reference is not None:
        duck = figures.add(
            "reference: DuckDB, latest score per pair (no history)",
            reference["seconds"],
            pairs=reference["pairs"],
        )
        duck["ratio_to_append_floor"] = round(append_floor["seconds"] / duck["seconds"], 3)
        duck["ratio_to_loads_floor"] = round(floor["seconds"] / duck["seconds"], 3)

    store = workdir / "store"
    console.print("mastery replay ...")
    replay_row = command_row(
        figures,
        "mastery replay (log + read models)",
        run_measured(["replay", "--store", str(store), str(dump)]),
        REPLAY_STAGES,
    )
    replay_row["store_mb"] = directory_size(store) >> 20
    console.print("mastery rebuild ...")
    rebuild_row = command_row(
        figures,
        "mastery rebuild (all read models)",
        run_measured(["rebuild", "--store", str(store)]),
        REBUILD_STAGES,
    )
    for row in (replay_row, rebuild_row):
        row["ratio_to_append_floor"] = round(append_floor["seconds"] / row["seconds"], 3)
        row["ratio_to_loads_floor"] = round(floor["seconds"] / row["seconds"], 3)
    console.print("point-in-time questions ...")
    figures.extra["point_in_time"] = point_in_time(store, 1000, seed)
    figures.extra["dump_mb"] = figures.dump_bytes >> 20
    figures.extra["store_mb"] = directory_size(store) >> 20
    if grid:
        console.print("a course of 1,000 students x 50 outcomes ...")
        figures.extra["big_grid"] = big_course_grid(workdir / "grid", seed)
    return figures


def generator_start(count: int = 10) -> float:
    """Seconds to the first events of a generator of half a billion (it streams)."""
    started = time.perf_counter()
    events = generate_events(GeneratorSettings(students=10_000_000, results_per_student=50))
    for _ in range(count):
        next(events)
    return time.perf_counter() - started


def report(figures: Figures, console: Console) -> None:
    table = Table(
        title=f"benchmark: {figures.events:,} events, {figures.dump_bytes >> 20} MB dump",
        title_justify="left",
    )
    columns = ("step", "seconds", "events/s", "x append floor", "peak RSS MB", "summed")
    for column in columns:
        table.add_column(column, justify="left" if column == "step" else "right")
    for row in figures.rows:
        table.add_row(
            row["step"],
            f"{row['seconds']:.2f}",
            f"{row.get('events_per_second', 0):,}",
            str(row.get("ratio_to_append_floor", "")),
            str(row.get("peak_rss_mb", "")),
            str(row.get("peak_rss_sum_mb", "")),
        )
    console.print(table)
    for row in figures.rows:
        if "cpu_us_per_event" in row:
            by_stage = row["cpu_us_per_event"].items()
            stages = ", ".join(f"{stage} {us:,.1f}" for stage, us in by_stage)
            per_event = row["cpu_seconds"] / max(figures.events, 1) * 1e6
            console.print(
                f"CPU per event, {row['step'].split(' (')[0]}: {per_event:,.1f} us ({stages})"
            )
    pit = figures.extra["point_in_time"]
    console.print(
        f"point in time: API p50 {pit['api_p50_ms']} ms, p99 {pit['api_p99_ms']} ms "
        f"({pit['questions']} questions); CLI median {pit['cli_median_s']} s; course grid "
        f"{pit['grid']['students']} students x {pit['grid']['outcomes']} outcomes in "
        f"{pit['grid']['seconds']} s; store {figures.extra['store_mb']} MB for a "
        f"{figures.extra['dump_mb']} MB dump"
    )
    big = figures.extra.get("big_grid")
    if big:
        console.print(
            f"course grid as of T: {big['students']} students x {big['outcomes']} outcomes "
            f"({big['rollups']} rollups) in {big['median_seconds']} s (median of 3)"
        )


def main(
    events: Annotated[
        int, typer.Option(min=1000, help="Events in the generated dump.")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option()] = 1,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Keep files here (default: temp).")] = None,
    grid: Annotated[
        bool, typer.Option(help="Also time a 1,000 x 50 course grid (its own ~200k dump).")
    ] = True,
) -> None:
    """Measure replay, rebuild and point-in-time latency against the machine's floor."""
    console = Console(stderr=True)
    start_launcher()
    try:
        with tempfile.TemporaryDirectory(prefix="mastery-bench-") as scratch:
            base = workdir or Path(scratch)
            base.mkdir(parents=True, exist_ok=True)
            figures = benchmark(events, seed, base, console, grid=grid)
    finally:
        stop_launcher()
    report(figures, Console())
    if json_path is not None:
        json_path.write_bytes(
            orjson.dumps(
                {
                    "events": figures.events,
                    "dump_bytes": figures.dump_bytes,
                    "machine": _machine(),
                    "steps": figures.rows,
                    **figures.extra,
                },
                option=orjson.OPT_INDENT_2,
            )
        )


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}


def command_line() -> typer.Typer:
    """The benchmark as a typer app (what `python -m replay.bench` runs)."""
    app = typer.Typer(add_completion=False)
    app.command()(main)
    return app


if __name__ == "__main__":
    command_line()()
