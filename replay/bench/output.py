"""Machine output and start-up, measured: `mastery query` as JSON against CSV, and `--help`.

    python -m replay.bench.output --rollups 10000 --rollups 100000

For each size a store with about that many current rollups is made from a generated
dump (students x outcomes), then `mastery query --format csv` and `--format json`
run three times each as whole processes; the figures are the median wall time and the
peak RSS, and JSON's as a ratio to CSV's measured in the same run. `mastery --help`
and a point question give the command line's start-up time.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from replay.bench.processes import run_process, stop_launcher
from replay.synthetic.generate import GeneratorSettings, write_dump

ROUNDS = 3


def _median_run(arguments: list[str]) -> tuple[float, int]:
    runs = [run_process(arguments) for _ in range(ROUNDS)]
    return statistics.median(seconds for seconds, _ in runs), max(rss for _, rss in runs)


def _store_with_rollups(directory: Path, rollups: int) -> Path:
    outcomes = 10
    students = max(30, rollups // outcomes)
    settings = GeneratorSettings(
        students=students, outcomes=outcomes, results_per_student=2 * outcomes, seed=11
    )
    dump = directory / f"dump-{rollups}.jsonl"
    with dump.open("wb") as target:
        write_dump(settings, target)
    store = directory / f"store-{rollups}"
    run_process(["replay", "--store", str(store), str(dump)])
    return store


def main(
    rollups: Annotated[list[int], typer.Option(help="Sizes to measure (repeatable).")] = [  # noqa: B006
        10_000
    ],
) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-output-") as scratch:
        directory = Path(scratch)
        try:
            help_seconds, help_rss = _median_run(["--help"])
            print(f"mastery --help: {help_seconds * 1000:.0f} ms, peak {help_rss >> 20} MB")
            for size in rollups:
                store = _store_with_rollups(directory, size)
                connection = sqlite3.connect(store / "read-models.sqlite")
                (count,) = connection.execute("SELECT COUNT(*) FROM rollups").fetchone()
                connection.close()
                base = ["query", "--store", str(store), "--format"]
                csv_seconds, csv_rss = _median_run([*base, "csv"])
                json_seconds, json_rss = _median_run([*base, "json"])
                point_seconds, _ = _median_run(
                    ["query", "--store", str(store), "--outcome", "1", "--limit", "1"]
                )
                print(
                    f"{count:,} rollups: csv {csv_seconds:.2f} s {csv_rss >> 20} MB, "
                    f"json {json_seconds:.2f} s {json_rss >> 20} MB "
                    f"(json/csv time {json_seconds / csv_seconds:.2f}x, "
                    f"memory {json_rss / csv_rss:.2f}x); a point question {point_seconds:.2f} s"
                )
        finally:
            stop_launcher()


if __name__ == "__main__":
    typer.run(main)
