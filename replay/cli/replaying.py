"""`mastery replay`, `status`, `quarantine` and `generate`: filling a store and looking at it."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, cast

import orjson
import typer
from rich.table import Table

from replay.cli.options import (
    JsonOption,
    ReadModelsOption,
    StoreOption,
    err,
    existing_store,
    fail,
    out,
)
from replay.jobs.status import store_status
from replay.store.location import StoreError, open_store
from replay.store.quarantine import Quarantine

if TYPE_CHECKING:
    from replay.ingest.ingestor import ReplaySummary


def replay(
    paths: Annotated[
        list[str],
        typer.Argument(help="Dump files (.jsonl, .json, optionally .gz), directories, or -."),
    ],
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    strict: Annotated[
        bool, typer.Option(help="Stop at the first unusable line instead of quarantining it.")
    ] = False,
    keep_request_metadata: Annotated[
        bool,
        typer.Option(help="Keep user_login, client_ip, url... (dropped by default)."),
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Events per transaction (default 2,000; 10,000 on PostgreSQL, where "
            "each transaction costs several round trips to the server).",
            show_default=False,
        ),
    ] = None,
    assume_utc: Annotated[
        bool,
        typer.Option(
            help="Read event times without a time zone as UTC (for dumps re-exported by "
            "other tools; Canvas always sends UTC). Else such lines are quarantined."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Append the Learning events of dumps to the log (duplicates are stored once)."""
    from replay.ingest.parsing import StrictModeStop
    from replay.ingest.sources import SourceError
    from replay.jobs.pipeline import ReplayOptions, run_replay

    try:
        opened = open_store(store, create=True, read_models=read_models)
        if batch_size is None:
            batch_size = 10_000 if opened.postgres is not None else ReplayOptions.batch_size
        summary = run_replay(
            opened,
            paths,
            ReplayOptions(
                strict=strict,
                keep_request_metadata=keep_request_metadata,
                batch_size=batch_size,
                assume_utc=assume_utc,
            ),
            stdin=sys.stdin.buffer,
        )
    except (SourceError, StoreError) as error:
        raise fail(str(error), 2) from None
    except StrictModeStop as stop:
        raise fail(f"{stop} (--strict: nothing from this line was stored)") from None
    if as_json:
        out.print_json(orjson.dumps(summary.as_dict()).decode())
    else:
        _print_summary(summary)


SKIPPED_SHOWN = 20


def _print_summary(summary: ReplaySummary) -> None:
    table = Table(title="replay", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("events read", f"{summary.read:,}")
    table.add_row("appended to the log", f"{summary.appended:,}")
    table.add_row("duplicates skipped", f"{summary.duplicates:,}")
    table.add_row("not learning events", f"{summary.not_learning:,}")
    table.add_row("legacy result payloads", f"{summary.legacy:,}")
    table.add_row("quarantined", f"{summary.quarantined_total:,}")
    for reason, count in sorted(summary.quarantined.items()):
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("quarantine resolved", f"{summary.resolved:,}")
    table.add_row("files skipped", f"{len(summary.skipped):,}")
    for path, reason in summary.skipped[:SKIPPED_SHOWN]:
        table.add_row(f"  {path}", reason)
    if len(summary.skipped) > SKIPPED_SHOWN:
        table.add_row(f"  and {len(summary.skipped) - SKIPPED_SHOWN:,} more", "see --json")
    table.add_row("elapsed", f"{summary.elapsed_seconds:.2f} s")
    table.add_row("events/s", f"{summary.events_per_second:,.0f}")
    out.print(table)


def status(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """What the store holds: events by type, their time span, the quarantine."""
    opened = existing_store(store, read_models)
    report = store_status(opened)
    if as_json:
        out.print_json(orjson.dumps(report.as_dict()).decode())
        return
    table = Table(title=f"store {report.store}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("events in the log", f"{report.events:,}")
    table.add_row("last position", f"{report.last_position:,}")
    table.add_row("aggregates", f"{report.aggregates:,}")
    for name, count in report.events_by_type.items():
        table.add_row(f"  {name}", f"{count:,}")
    table.add_row("first event_time", report.first_event_time or "-")
    table.add_row("last event_time", report.last_event_time or "-")
    table.add_row("quarantined lines", f"{report.quarantined:,}")
    for reason, count in report.quarantined_by_reason.items():
        table.add_row(f"  {reason}", f"{count:,}")
    out.print(table)


def quarantine_command(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    reason: Annotated[str | None, typer.Option(help="Only lines refused for this reason.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many lines.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines, with the raw bytes as text.")
    ] = False,
    source: Annotated[
        str | None, typer.Option(help="Only lines from this file (as the replay named it).")
    ] = None,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="Delete the lines of --reason and/or --source (all, without them) and "
            "print how many.",
        ),
    ] = False,
) -> None:
    """The lines that could not be used, with where they came from and why."""
    opened = existing_store(store, read_models)
    quarantine = Quarantine(opened.quarantine_path)
    try:
        if clear:
            cleared = quarantine.clear(reason=reason, source=source)
            if as_json:
                sys.stdout.write(orjson.dumps({"cleared": cleared}).decode() + "\n")
            else:
                out.print(f"cleared {cleared:,} quarantined line{'' if cleared == 1 else 's'}")
            return
        lines = list(quarantine.lines(reason=reason, limit=limit, source=source))
    finally:
        quarantine.close()
    if as_json:
        for line in lines:
            record = {
                "source": line.source,
                "line": line.line,
                "item": line.item,
                "reason": line.reason,
                "detail": line.detail,
                "raw": line.raw.decode("utf-8", errors="replace"),
                "quarantined_at": line.quarantined_at,
            }
            sys.stdout.write(orjson.dumps(record).decode() + "\n")
        return
    table = Table(title=f"quarantine: {len(lines)} lines", title_justify="left")
    for column in ("where", "reason", "detail", "raw (start)"):
        table.add_column(column, overflow="fold")
    for line in lines:
        where = f"{line.source}:{line.line}" + (f" (item {line.item})" if line.item else "")
        preview = line.raw[:60].decode("utf-8", errors="replace")
        table.add_row(where, line.reason, line.detail, preview)
    out.print(table)


def generate(
    students: Annotated[int, typer.Option(min=1)] = 200,
    outcomes: Annotated[int, typer.Option(min=1)] = 12,
    results_per_student: Annotated[int, typer.Option(min=1)] = 20,
    seed: Annotated[int, typer.Option()] = 0,
    duplicates: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    shuffle_seconds: Annotated[float, typer.Option(min=0.0)] = 0.0,
    legacy: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.0,
    courses: Annotated[int | None, typer.Option(min=1)] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default stdout); gzip-compressed if it ends in .gz.",
        ),
    ] = None,
) -> None:
    """Write a realistic synthetic dump (deterministic for a seed)."""
    from replay.synthetic.generate import GeneratorSettings, estimate_events, write_dump

    settings = GeneratorSettings(
        students=students,
        outcomes=outcomes,
        results_per_student=results_per_student,
        seed=seed,
        duplicates=duplicates,
        shuffle_seconds=shuffle_seconds,
        legacy=legacy,
        courses=courses,
    )
    if output is None:
        write_dump(settings, sys.stdout.buffer)
        return
    # Compressed by the file's name, as the replay reads it: "x.jsonl.gz" is gzip.
    with output.open("wb") as file:
        if output.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=file, mode="wb") as packed:
                written = write_dump(settings, cast(BinaryIO, packed))
        else:
            written = write_dump(settings, file)
    err.print(f"wrote {written:,} events (~{estimate_events(settings):,} estimated) to {output}")
