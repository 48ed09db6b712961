"""`mastery generate`'s options for known losses and the world's Canvas Data 2 snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from replay.cli.options import err

DropFractionOption = Annotated[
    float,
    typer.Option(
        min=0.0, max=1.0, help="Drop this fraction of events (all copies of each) from the dump."
    ),
]
DropDayOption = Annotated[
    list[str] | None,
    typer.Option(help="Drop every event of this UTC day, YYYY-MM-DD (repeatable)."),
]
SilenceOption = Annotated[
    list[str] | None,
    typer.Option(
        help="TYPE:FROM:TO: drop every event of this type (a name, or a prefix such as "
        "learning_outcome_result) from FROM to TO, inclusive dates (repeatable)."
    ),
]
Cd2SnapshotOption = Annotated[
    Path | None,
    typer.Option(
        help="Also write the world's complete Canvas Data 2 snapshot (learning_outcome_results, "
        "learning_outcomes) into this directory, as Instructure's dap client writes it."
    ),
]
Cd2FormatOption = Annotated[
    str, typer.Option(help="The snapshot's format: jsonl (gzip JSON lines) or csv (gzip CSV).")
]
DroppedOption = Annotated[
    Path | None, typer.Option(help="Write the dropped events to this file (JSON lines).")
]


def generate_world(
    output: Path | None,
    settings: dict[str, Any],
    *,
    drop_fraction: float,
    drop_days: tuple[str, ...],
    silences: tuple[str, ...],
    cd2_snapshot: Path | None,
    cd2_format: str,
    dropped: Path | None,
) -> None:
    import sys
    from contextlib import ExitStack

    from replay.service import BadQuestion
    from replay.service.synthetic import write_synthetic_world

    if cd2_format not in ("jsonl", "csv"):
        raise BadQuestion(f"--cd2-format {cd2_format!r}: expected jsonl or csv")
    with ExitStack() as files:
        target = files.enter_context(output.open("wb")) if output else sys.stdout.buffer
        lost = files.enter_context(dropped.open("wb")) if dropped else None
        written, by_reason = write_synthetic_world(
            target,
            drop_fraction=drop_fraction,
            drop_days=drop_days,
            silences=silences,
            cd2_snapshot=str(cd2_snapshot) if cd2_snapshot else None,
            cd2_format=cd2_format,
            dropped=lost,
            **settings,
        )
    losses = ", ".join(f"{count:,} by {reason}" for reason, count in by_reason.items()) or "none"
    where = f" to {output}" if output else ""
    snapshot = f"; CD2 snapshot in {cd2_snapshot}" if cd2_snapshot else ""
    err.print(f"wrote {written:,} events{where}; dropped: {losses}{snapshot}")
