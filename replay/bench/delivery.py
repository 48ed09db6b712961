"""`mastery gaps` and `mastery reconcile` against the replay floor of the same run.

Generates a world with known losses and its Canvas Data 2 snapshot (as `mastery generate
--drop-fraction F --cd2-snapshot DIR` does), measures the floor on its dump (read +
`orjson.loads`; the same plus a raw batched SQLite append, `replay/bench/run.py`),
replays it, then runs `gaps` (with and without late answers) and `reconcile` as whole
processes, as a user runs them. Each gets wall time, CPU time (user + system: the
machine is shared, and CPU time says what the command itself cost) and peak RSS from
the operating system, and its ratio to the append floor (floor time / its time, as in
the README: 1.0x is as fast as the floor). A plain script printing figures, not a test:

    python -m replay.bench.delivery --events 1000000 --json delivery.json
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from replay.bench import proc
from replay.bench.processes import run_measured, start_launcher, stop_launcher
from replay.bench.run import floor_append, floor_loads
from replay.service.synthetic import write_synthetic_world

EVENTS_PER_STUDENT = 38.1
"""About what the world below makes per student (36 results each, plus the catalogue)."""


def _in_process(step: str, work: Callable[[], object]) -> dict[str, Any]:
    """Wall and CPU seconds of a floor, measured in this process."""
    started, cpu = time.perf_counter(), proc.own_cpu_seconds()
    work()
    return {
        "step": step,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": proc.own_cpu_seconds() - cpu,
    }


def _process(step: str, arguments: list[str], exit_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    outcome = run_measured(arguments, exit_codes=exit_codes)
    return {
        "step": step,
        "seconds": outcome["seconds"],
        "cpu_seconds": outcome["cpu_seconds"],
        "peak_rss_mb": outcome["max_rss_bytes"] >> 20,
    }


def make_world(workdir: Path, events: int, seed: int, drop_fraction: float) -> dict[str, Any]:
    """The dump (with `drop_fraction` of its events lost) and the complete world's snapshot."""
    students = max(10, round(events / EVENTS_PER_STUDENT))
    dump, snapshot = workdir / "dump.jsonl", workdir / "cd2"
    with dump.open("wb") as target:
        written, lost = write_synthetic_world(
            target,
            drop_fraction=drop_fraction,
            cd2_snapshot=str(snapshot),
            seed=seed,
            students=students,
            courses=max(1, round(students / 31)),
            results_per_student=36,
        )
    return {"dump": dump, "snapshot": snapshot, "events": written, "lost": lost}


def measure(
    workdir: Path, world: dict[str, Any], echo: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Every step, in order, each with its ratios to the floors of this run."""
    dump, store = world["dump"], str(workdir / "store")
    echo("floors ...")
    rows = [
        _in_process("floor: read + orjson.loads", lambda: floor_loads(dump)),
        _in_process(
            "floor: + raw SQLite append (WAL, 5,000/commit)",
            lambda: floor_append(dump, workdir / "floor.sqlite"),
        ),
    ]
    echo("mastery replay ...")
    rows.append(_process("mastery replay", ["replay", "--store", store, str(dump)]))
    for step, extra in (
        ("mastery gaps --format json", []),
        ("mastery gaps --format json --no-late-answers", ["--no-late-answers"]),
    ):
        echo(f"{step} ...")
        rows.append(_process(step, ["gaps", "--store", store, "--format", "json", *extra]))
    echo("mastery reconcile ...")
    arguments = ["reconcile", "--store", store, "--cd2", str(world["snapshot"])]
    rows.append(
        _process("mastery reconcile --format json", [*arguments, "--format", "json"], (0, 1))
    )
    floor = rows[1]
    for row in rows[2:]:
        row["ratio_to_append_floor"] = round(floor["seconds"] / row["seconds"], 3)
        row["cpu_ratio_to_append_floor"] = round(floor["cpu_seconds"] / row["cpu_seconds"], 3)
    return rows


def snapshot_rows(snapshot: Path) -> int:
    """The results rows of the snapshot (one JSON line each)."""
    import gzip

    return sum(
        sum(1 for _ in gzip.open(part))
        for part in (snapshot / "learning_outcome_results").glob("part-*")
    )


def main(
    events: Annotated[
        int, typer.Option(min=1000, help="Events in the generated world.")
    ] = 1_000_000,
    seed: Annotated[int, typer.Option()] = 11,
    drop_fraction: Annotated[float, typer.Option(help="Events lost from the dump.")] = 0.02,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
    workdir: Annotated[Path | None, typer.Option(help="Keep files here (default: temp).")] = None,
) -> None:
    """Time `gaps` and `reconcile` against the replay floor of the same run."""
    echo = typer.echo
    start_launcher()
    try:
        with tempfile.TemporaryDirectory(prefix="mastery-bench-delivery-") as scratch:
            base = workdir or Path(scratch)
            base.mkdir(parents=True, exist_ok=True)
            echo(f"generating about {events:,} events and the CD2 snapshot ...", err=True)
            world = make_world(base, events, seed, drop_fraction)
            rows = measure(base, world, lambda text: echo(text, err=True))
            cd2_rows = snapshot_rows(world["snapshot"])
    finally:
        stop_launcher()
    echo(f"{world['events']:,} events written ({world['lost']} lost), {cd2_rows:,} CD2 rows")
    echo(f"{'step':<48} {'wall s':>8} {'CPU s':>8} {'x floor':>8} {'CPU x':>7} {'RSS MB':>7}")
    for row in rows:
        echo(
            f"{row['step']:<48} {row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f} "
            f"{row.get('ratio_to_append_floor', ''):>8} "
            f"{row.get('cpu_ratio_to_append_floor', ''):>7} {row.get('peak_rss_mb', ''):>7}"
        )
    if json_path is not None:
        document = {"events": world["events"], "lost": world["lost"], "cd2_rows": cd2_rows}
        json_path.write_bytes(orjson.dumps({**document, "steps": rows}, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    typer.run(main)
