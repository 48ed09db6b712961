"""`mastery replay`, `status`, `quarantine` and `generate`: filling a store and looking at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from replay.cli.losses import (
    Cd2FormatOption,
    Cd2SnapshotOption,
    DropDayOption,
    DropFractionOption,
    DroppedOption,
    SilenceOption,
    generate_world,
)
from replay.cli.options import (
    JsonOption,
    ReadModelsOption,
    StoreOption,
    answering,
    err,
    existing_store,
    out,
)
from replay.cli.progress import progress_bar
from replay.service import MasteryService, ReplayOptions, StrictStop

if TYPE_CHECKING:
    from replay.service import ReplaySummary


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
    as_json: JsonOption = False,
) -> None:
    """Append the Learning events of dumps to the log (duplicates are stored once)."""
    with answering():
        service = MasteryService.open(store, read_models=read_models, create=True)
        options = ReplayOptions(
            strict=strict,
            keep_request_metadata=keep_request_metadata,
            batch_size=batch_size or (10_000 if service.on_postgres else 2_000),
        )
        try:
            summary = service.replay(paths, options, stdin=sys.stdin.buffer, progress=progress_bar)
        except StrictStop as stop:
            raise StrictStop(f"{stop} (--strict: nothing from this line was stored)") from None
    if as_json:
        out.print_json(orjson.dumps(summary.as_dict()).decode())
    else:
        _print_summary(summary)


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
    table.add_row("elapsed", f"{summary.elapsed_seconds:.2f} s")
    table.add_row("events/s", f"{summary.events_per_second:,.0f}")
    out.print(table)


def status(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """What the store holds: events by type, their time span, the quarantine."""
    report = existing_store(store, read_models).status()
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
    if report.backfilled_by_type:
        table.add_row("backfilled from CD2", f"{sum(report.backfilled_by_type.values()):,}")
        for name, count in report.backfilled_by_type.items():
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
) -> None:
    """The lines that could not be used, with where they came from and why."""
    lines = existing_store(store, read_models).quarantined(reason=reason, limit=limit)
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
        Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
    ] = None,
    drop_fraction: DropFractionOption = 0.0,
    drop_day: DropDayOption = None,
    silence: SilenceOption = None,
    cd2_snapshot: Cd2SnapshotOption = None,
    cd2_format: Cd2FormatOption = "jsonl",
    dropped: DroppedOption = None,
) -> None:
    """Write a realistic synthetic dump (deterministic for a seed)."""
    from replay.service.synthetic import write_synthetic_dump

    settings = {
        "students": students,
        "outcomes": outcomes,
        "results_per_student": results_per_student,
        "seed": seed,
        "duplicates": duplicates,
        "shuffle_seconds": shuffle_seconds,
        "legacy": legacy,
        "courses": courses,
    }
    if drop_fraction or drop_day or silence or cd2_snapshot or dropped:
        with answering():
            generate_world(
                output,
                settings,
                drop_fraction=drop_fraction,
                drop_days=tuple(drop_day or ()),
                silences=tuple(silence or ()),
                cd2_snapshot=cd2_snapshot,
                cd2_format=cd2_format,
                dropped=dropped,
            )
        return
    if output is None:
        write_synthetic_dump(sys.stdout.buffer, **settings)
        return
    with output.open("wb") as target:
        written, estimated = write_synthetic_dump(target, **settings)
    err.print(f"wrote {written:,} events (~{estimated:,} estimated) to {output}")
