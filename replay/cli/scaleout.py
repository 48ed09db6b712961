"""`mastery follow`, `mastery copy` and `mastery --read-models`: the scale-out commands.

With the log on PostgreSQL, each machine keeps its own quarantine and read models in
a local directory: `--read-models DIR` on a command, or before it (`mastery
--read-models DIR COMMAND`, for commands that lack the option), or
$MASTERY_READ_MODELS; else a name derived from the URL.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.table import Table

from replay import service
from replay.cli.options import (
    JsonOption,
    ReadModelsOption,
    StoreOption,
    err,
    existing_store,
    fail,
    out,
)
from replay.cli.output import write_json
from replay.cli.progress import progress_bar

if TYPE_CHECKING:
    from replay.service import Lag


def follow(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    poll_interval: Annotated[
        float,
        typer.Option(min=0.01, help="Seconds between looks at the log (NOTIFY wakes it sooner)."),
    ] = 1.0,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1, help="Events per read-model transaction (default 5,000).", show_default=False
        ),
    ] = None,
    report_every: Annotated[
        float, typer.Option(min=0.1, help="Seconds between lag reports when nothing happens.")
    ] = 10.0,
    once: Annotated[
        bool, typer.Option(help="Catch up with the log, report the lag, exit.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Lag reports as JSON lines on stdout.")
    ] = False,
) -> None:
    """Keep the local read models level with a log that others append to."""
    opened = existing_store(store, read_models)

    def report(lag: Lag) -> None:
        if as_json:
            sys.stdout.write(orjson.dumps(lag.as_dict()).decode() + "\n")
            sys.stdout.flush()
        elif lag.state == "reconnecting":
            err.print(f"[yellow]{lag.state}[/] at position {lag.position:,}: {lag.error}")
        else:
            err.print(
                f"position {lag.position:,} of {lag.head:,}: lag {lag.events:,} events, "
                f"{lag.seconds:.1f} s; {lag.applied:,} applied"
            )

    follower = opened.follower(
        poll_interval=poll_interval,
        batch_size=batch_size,
        report_every=report_every,
        on_report=report,
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        follower.stop()

    previous = signal.signal(signal.SIGTERM, on_signal)
    if not as_json:
        err.print(f"following {opened.location} into {opened.read_models_location}")
    try:
        follower.run(once=once, attempts=3 if once else None)
    except KeyboardInterrupt:
        pass  # the batch in hand was rolled back; its position with it
    except service.StoreUnavailable as error:
        raise fail(str(error), 2) from None
    except Exception as error:  # --once gave up reconnecting
        raise fail(f"cannot follow {opened.location}: {error}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def copy(
    source: Annotated[
        str, typer.Option("--from", help="The store to copy from (a directory or a URL).")
    ],
    target: Annotated[
        str, typer.Option("--to", help="The store to copy into (postgresql://... or a directory).")
    ],
    read_models: ReadModelsOption = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per transaction.")] = 10_000,
    as_json: JsonOption = False,
) -> None:
    """Copy a store's log into another store, event for event; safe to run again."""
    from_store = service.MasteryService.open(source)
    into_store = service.MasteryService.open(target, read_models=read_models, create=True)
    report = from_store.copy_to(into_store, batch_size=batch_size, progress=progress_bar)
    if as_json:
        write_json(report.as_dict())
    else:
        table = Table(title="copy", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(justify="right")
        table.add_row("from", report.source)
        table.add_row("to", report.target)
        table.add_row("events in the source", f"{report.source_events:,}")
        table.add_row("copied", f"{report.copied:,}")
        table.add_row("already there", f"{report.already_there:,}")
        table.add_row("conflicts", f"{report.conflicts:,}")
        table.add_row("events in the target", f"{report.target_events:,}")
        table.add_row("quarantined lines copied", f"{report.quarantine_lines:,}")
        table.add_row("elapsed", f"{report.elapsed_seconds:.2f} s")
        out.print(table)
    if not report.complete:
        examples = ", ".join(report.conflict_examples)
        raise fail(
            f"the copy is incomplete: {report.conflicts:,} events differ in the target "
            f"({examples}); it holds another log's events for the same aggregates"
        )
