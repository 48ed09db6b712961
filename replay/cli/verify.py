"""`mastery verify`: check the log's integrity and the read models' place against it."""

from __future__ import annotations

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
from replay.cli.output import write_json


def verify(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """Check that every stored event decodes, versions are contiguous, read models fit.

    Exit code 0: no problem; 1: problems, listed; 2: no usable store. Writes nothing.
    """
    report = existing_store(store, read_models).verify()
    if as_json:
        write_json(report.as_dict())
    else:
        table = Table(title=f"verify {report.store}", show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(justify="right")
        table.add_row("events decoded", f"{report.events:,}")
        table.add_row("aggregates", f"{report.aggregates:,}")
        table.add_row("last position", f"{report.last_position:,}")
        position = report.read_model_position
        table.add_row("read models", report.read_models)
        table.add_row("read-model position", "-" if position is None else f"{position:,}")
        table.add_row("problems", f"{report.problem_count:,}")
        out.print(table)
        for note in report.notes:
            out.print(f"note: {note}")
    if not report.ok:
        for problem in report.problems:
            err.print(f"problem: {problem}")
        hidden = report.problem_count - len(report.problems)
        if hidden:
            err.print(f"... and {hidden:,} more")
        raise fail(f"{report.problem_count:,} problem(s) found in {report.store}", 1)
