"""`mastery replay`, `status`, `quarantine` and `generate`: filling a store and looking at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from replay import service
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
    counted,
    err,
    existing_store,
    out,
)
from replay.cli.output import write_json, write_json_lines
from replay.cli.progress import progress_bar

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
    assume_utc: Annotated[
        bool,
        typer.Option(
            help="Read event times without a time zone as UTC (for dumps re-exported by "
            "other tools; Canvas always sends UTC). Else such lines are quarantined."
        ),
    ] = False,
    fail_on_quarantine: Annotated[
        bool,
        typer.Option(help="Exit 3 when any line was quarantined (for cron jobs)."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Append the Learning events of dumps to the log (duplicates are stored once)."""
    opened = service.MasteryService.open(store, read_models=read_models, create=True)
    options = service.ReplayOptions(
        strict=strict,
        keep_request_metadata=keep_request_metadata,
        batch_size=batch_size or (10_000 if opened.on_postgres else 2_000),
        assume_utc=assume_utc,
    )
    head = opened.log_head()
    try:
        summary = opened.replay(paths, options, stdin=sys.stdin.buffer, progress=progress_bar)
    except service.StrictStop as stop:
        raise service.StrictStop(f"{stop} (--strict: nothing from this line was stored)") from None
    except KeyboardInterrupt:
        stored = opened.log_head() - head
        err.print(
            f"interrupted: {stored:,} events were appended to the log before the interruption "
            "(every batch is stored whole or not at all); run the same command again to "
            "finish: what is already stored is recognised and skipped"
        )
        raise typer.Exit(130) from None
    if as_json:
        write_json(summary.as_dict())
    else:
        _print_summary(summary, opened.location)
    if fail_on_quarantine and summary.quarantined_total:
        raise typer.Exit(3)


SKIPPED_SHOWN = 20


def _print_summary(summary: ReplaySummary, location: str) -> None:
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
    table.add_row("  of which appending", f"{summary.append_seconds:.2f} s")
    table.add_row("events/s", f"{summary.events_per_second:,.0f}")
    out.print(table)
    if summary.quarantined_total:
        err.print(
            f"{counted(summary.quarantined_total, 'line')} quarantined: see them with "
            f"`mastery quarantine --store {location}`"
        )


def status(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """What the store holds: events by type, their time span, the quarantine."""
    report = existing_store(store, read_models).status()
    if as_json:
        write_json(report.as_dict())
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
    table.add_row("stored, not projected", f"{report.unprojectable_events:,}")
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
    if clear:
        cleared = opened.clear_quarantine(reason=reason, source=source)
        if as_json:
            write_json({"cleared": cleared})
        else:
            out.print(f"cleared {counted(cleared, 'quarantined line')}")
        return
    lines = opened.quarantined(reason=reason, limit=limit, source=source)
    if as_json:
        write_json_lines(service.quarantined_json(line) for line in lines)
        return
    table = Table(title=f"quarantine: {counted(len(lines), 'line')}", title_justify="left")
    for column in ("where", "reason", "detail", "raw (start)"):
        table.add_column(column, overflow="fold")
    for line in lines:
        where = f"{line.source}:{line.line}" + (f" (item {line.item})" if line.item else "")
        preview = line.raw[:60].decode("utf-8", errors="replace")
        table.add_row(where, line.reason, line.detail, preview)
    out.print(table)


def generate(
    students: Annotated[int, typer.Option(min=1, help="Students in the world.")] = 200,
    outcomes: Annotated[
        int, typer.Option(min=1, help="Account-level outcomes (courses may add their own).")
    ] = 12,
    results_per_student: Annotated[
        int, typer.Option(min=1, help="Outcome results per student over the term (about).")
    ] = 20,
    seed: Annotated[int, typer.Option(help="The same seed writes the same dump.")] = 0,
    duplicates: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Fraction of events delivered a second time."),
    ] = 0.0,
    shuffle_seconds: Annotated[
        float,
        typer.Option(min=0.0, help="Deliver events out of order, up to this many seconds."),
    ] = 0.0,
    legacy: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Fraction of results in the legacy (pre-2021) payload shape."
        ),
    ] = 0.0,
    courses: Annotated[
        int | None,
        typer.Option(min=1, help="Courses (default: one per 30 students).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="File to write (default stdout); gzip-compressed if it ends in .gz.",
        ),
    ] = None,
    drop_fraction: DropFractionOption = 0.0,
    drop_day: DropDayOption = None,
    silence: SilenceOption = None,
    cd2_snapshot: Cd2SnapshotOption = None,
    cd2_format: Cd2FormatOption = "jsonl",
    dropped: DroppedOption = None,
) -> None:
    """Write a realistic synthetic dump (deterministic for a seed)."""
    from replay.service.synthetic import write_synthetic_dump, write_synthetic_file

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
    written, estimated = write_synthetic_file(output, **settings)
    err.print(f"wrote {counted(written, 'event')} (~{estimated:,} estimated) to {output}")
