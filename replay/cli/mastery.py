"""`mastery query` and `mastery rebuild`: the read side of the command line."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from replay import service
from replay.cli.options import (
    JsonOption,
    ReadModelsOption,
    StoreOption,
    answering,
    existing_store,
    out,
)
from replay.cli.output import write_csv, write_json, write_json_array
from replay.cli.progress import progress_bar

if TYPE_CHECKING:
    from replay.service import MasteryQuestion, RollupRecord


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def query(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    user: Annotated[list[str] | None, typer.Option(help="Student user_uuid (repeatable).")] = None,
    outcome: Annotated[
        list[str] | None, typer.Option(help="Learning outcome id (repeatable).")
    ] = None,
    course: Annotated[str | None, typer.Option(help="Course id.")] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Mastery as Canvas had it then (a date means its end).")
    ] = None,
    known_at: Annotated[
        str | None, typer.Option(help="Only what this store had recorded by then.")
    ] = None,
    all_courses: Annotated[
        bool, typer.Option(help="Per student and outcome over every course (own method).")
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.table,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rollups.")] = None,
) -> None:
    """Students' mastery of outcomes: current, as of a time, or as known at a time."""
    with answering():
        asked = service.question(
            users=user or (),
            outcomes=outcome or (),
            course=course,
            as_of=as_of,
            known_at=known_at,
            all_courses=all_courses,
        )
        with existing_store(store, read_models).reading() as reader:
            records = reader.rollups(asked)[:limit]
            titles = {}
            if output_format is OutputFormat.table:
                titles = reader.outcome_titles(sorted({r.key[2] for r in records}))
    if output_format is OutputFormat.json:
        write_json_array(service.rollup_json(r) for r in records)
    elif output_format is OutputFormat.csv:
        write_csv(service.rollup_csv_rows(records))
    else:
        out.print(rollup_table(records, titles, asked))


SHORT_METHOD_NAMES = {
    "standard_decaying_average": "decaying",
    "decaying_average": "weighted",
    "weighted_average": "weighted",
    "n_mastery": "n_mastery",
}


def rollup_table(
    records: list[RollupRecord], titles: dict[str, str], asked: MasteryQuestion
) -> Table:
    table = Table(
        title=f"mastery {service.moment_text(asked)}: {len(records)} rollups", title_justify="left"
    )
    table.box = box.SIMPLE_HEAD
    table.add_column("student", min_width=10, max_width=10, no_wrap=True, overflow="ellipsis")
    table.add_column("outcome", min_width=12, max_width=28, no_wrap=True, overflow="ellipsis")
    table.add_column("course", min_width=6, no_wrap=True)
    table.add_column("score", justify="right", min_width=5, no_wrap=True)
    table.add_column("n", justify="right", min_width=2, no_wrap=True)
    table.add_column("rating", min_width=8, max_width=16, no_wrap=True, overflow="ellipsis")
    table.add_column("mastery", justify="center", min_width=7, no_wrap=True)
    table.add_column("method", min_width=11, no_wrap=True)
    for record in records:
        _, user_uuid, outcome_id, _, context_id = record.key
        rollup, rating = record.rollup, record.rollup.rating
        rating_text = Text("-")
        if rating is not None:
            style = f"bold on #{rating.color}" if rating.color else ""
            rating_text = Text(f" {rating.description or rating.points} ", style=style)
        method = SHORT_METHOD_NAMES.get(rollup.calculation_method, rollup.calculation_method)
        if rollup.calculation_int is not None:
            method += f" {rollup.calculation_int}"
        table.add_row(
            user_uuid,
            f"{outcome_id} {titles.get(outcome_id, '')}".strip(),
            context_id or "all",
            "-" if rollup.score is None else f"{rollup.score:.2f}",
            str(rollup.count),
            rating_text,
            {True: "yes", False: "no", None: "-"}[rollup.mastery],
            method,
        )
    return table


def rebuild(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """Drop the read models and recreate them from the whole log."""
    with answering():
        report = existing_store(store, read_models).rebuild(progress=progress_bar)
    if as_json:
        write_json(report)
    else:
        out.print(
            f"rebuilt the read models from {report['events']:,} events "
            f"in {report['elapsed_seconds']:.2f} s ({report['events_per_second']:,.0f} events/s)"
        )
