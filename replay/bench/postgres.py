"""The PostgreSQL benchmark: the same dump replayed into a directory and into PostgreSQL.

Every figure is measured in one run, beside its SQLite baseline on the same file,
because only ratios travel between machines. Each step is a whole `python -m replay`
process, as a user runs it; "append" is the replay's own ingest rate (its summary),
"wall" includes starting up and bringing the read models level.

    python -m replay.bench.postgres --events 200000 --url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import orjson
import psycopg
import typer
from rich.console import Console
from rich.table import Table

from replay.bench.run import settings_for
from replay.synthetic.generate import write_dump


def mastery(*arguments: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of one `python -m replay ... --json` process, and its JSON output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "replay", *arguments], capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"mastery {' '.join(arguments)} failed: {done.stderr.decode()}")
    lines = done.stdout.strip().splitlines()
    output: dict[str, Any] = orjson.loads(b"\n".join(lines)) if lines[:1] == [b"{"] else {}
    if not output and lines:
        output = orjson.loads(lines[-1])
    return elapsed, output


def split(dump: Path, parts: int) -> list[Path]:
    """The dump's lines dealt round-robin into `parts` files (several receivers)."""
    paths = [dump.with_name(f"{dump.stem}-part{n}.jsonl") for n in range(parts)]
    outs = [path.open("wb") for path in paths]
    with dump.open("rb") as lines:
        for index, line in enumerate(lines):
            outs[index % parts].write(line)
    for out in outs:
        out.close()
    return paths


def benchmark(
    events: int, url: str, workdir: Path, console: Console
) -> tuple[int, list[dict[str, Any]]]:
    """Each step's wall time and rates; returns the dump's event count too."""
    dump = workdir / "dump.jsonl"
    with dump.open("wb") as out:
        events = write_dump(settings_for(events, 1), out)
    schemas: list[str] = []

    def fresh() -> str:
        schemas.append(f"bench_{uuid.uuid4().hex[:10]}")
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}schema={schemas[-1]}"

    rows: list[dict[str, Any]] = []

    def row(step: str, wall: float, summary: dict[str, Any] | None = None) -> None:
        entry: dict[str, Any] = {"step": step, "wall_s": round(wall, 2)}
        entry["wall_events_per_s"] = round(events / wall)
        if summary and summary.get("elapsed_seconds"):
            entry["append_events_per_s"] = round(summary["read"] / summary["elapsed_seconds"])
        rows.append(entry)
        console.print(f"{step}: {entry}")

    try:
        directory = str(workdir / "store")
        row(
            "replay into a directory (SQLite)",
            *mastery("replay", "--store", directory, "--json", str(dump)),
        )
        local = str(workdir / "local")
        target = fresh()
        row(
            "replay into PostgreSQL (batch 2,000, the directory default)",
            *mastery(
                "replay", "--store", target, "--read-models", local, "--batch-size", "2000",
                "--json", str(dump),
            ),
        )  # fmt: skip
        target = fresh()
        row(
            "replay into PostgreSQL (batch 10,000, its default)",
            *mastery(
                "replay",
                "--store",
                target,
                "--read-models",
                local + "2",
                "--batch-size",
                "10000",
                "--json",
                str(dump),
            ),
        )
        copied = fresh()
        wall, _ = mastery(
            "copy", "--from", directory, "--to", copied, "--read-models", local + "3", "--json"
        )
        row("copy directory -> PostgreSQL (batch 10,000)", wall)
        wall, _ = mastery("rebuild", "--store", directory, "--json")
        row("rebuild read models from the directory log", wall)
        wall, _ = mastery(
            "follow", "--store", copied, "--read-models", local + "4", "--once", "--json"
        )
        row("follow --once: read models from the PostgreSQL log", wall)
        parts = split(dump, 2)
        started = time.perf_counter()
        target = fresh()
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "replay",
                    "replay",
                    "--store",
                    target,
                    "--read-models",
                    f"{local}-r{n}",
                    "--json",
                    str(part),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for n, part in enumerate(parts)
        ]
        for process in processes:
            _, err = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(err.decode())
        row("2 concurrent replays into PostgreSQL (halves)", time.perf_counter() - started)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return events, rows


def main(
    events: Annotated[int, typer.Option(min=1000, help="Events in the generated dump.")] = 200_000,
    url: Annotated[
        str, typer.Option(help="A database to make (and drop) schemas in.")
    ] = "postgresql://postgres@127.0.0.1:5432/test",
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write JSON here.")] = None,
) -> None:
    """Replay, copy and follow on PostgreSQL, each beside its SQLite baseline."""
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="mastery-pgbench-") as scratch:
        events, rows = benchmark(events, url, Path(scratch), console)
    table = Table(title=f"PostgreSQL benchmark: {events:,} events", title_justify="left")
    for column in ("step", "wall s", "events/s (wall)", "events/s (append)"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for entry in rows:
        table.add_row(
            entry["step"],
            f"{entry['wall_s']:.2f}",
            f"{entry['wall_events_per_s']:,}",
            f"{entry.get('append_events_per_s', ''):,}" if "append_events_per_s" in entry else "",
        )
    Console().print(table)
    if json_path is not None:
        json_path.write_bytes(orjson.dumps({"events": events, "steps": rows}))


if __name__ == "__main__":
    typer.run(main)
