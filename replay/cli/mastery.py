"""`mastery query` and `mastery rebuild`: the read side of the command line."""

from __future__ import annotations

from enum import StrEnum
from itertools import islice
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
    counted,
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
    asked = service.question(
        users=user or (),
        outcomes=outcome or (),
        course=course,
        as_of=as_of,
        known_at=known_at,
        all_courses=all_courses,
    )
    with existing_store(store, read_models).reading() as reader:
        records = islice(reader.stream_rollups(asked), limit)
        if output_format is OutputFormat.json:
            write_json_array(service.rollup_json(r) for r in records)
            return
        if output_format is OutputFormat.csv:
            write_csv(service.rollup_csv_rows(records))
            return
        shown = list(records)
        titles = reader.outcome_titles(sorted({r.key[2] for r in shown}))
    out.print(rollup_table(shown, titles, asked))


NUMBERS_WIDTH = 58
"""The course, score, n and mastery columns with every column's padding."""


def text_widths(width: int) -> tuple[int, int, int, int]:
    """Widths of the student, outcome, rating and method columns on `width` columns.

    The numbers always show whole; the text columns share what is left. A student id
    shows whole (40 characters) from about 180 columns on: a user_uuid is copied from
    here into --user.
    """
    spare = max(width - NUMBERS_WIDTH, 0)

    def share(part: float, least: int, most: int) -> int:  # + 2: a column's own padding
        return max(least, min(most, int(spare * part))) + 2

    return share(0.3, 8, 40), share(0.35, 10, 48), share(0.15, 6, 24), share(0.2, 8, 28)


def rollup_table(
    records: list[RollupRecord], titles: dict[str, str], asked: MasteryQuestion
) -> Table:
    table = Table(
        title=f"mastery {service.moment_text(asked)}: {counted(len(records), 'rollup')}",
        title_justify="left",
    )
    table.box = box.SIMPLE_HEAD
    widths = text_widths(out.width)
    table.add_column("student", max_width=widths[0], no_wrap=True, overflow="ellipsis")
    table.add_column("outcome", max_width=widths[1], no_wrap=True, overflow="ellipsis")
    table.add_column("course", min_width=6, no_wrap=True)
    table.add_column("score", justify="right", min_width=5, no_wrap=True)
    table.add_column("n", justify="right", min_width=2, no_wrap=True)
    table.add_column("rating", max_width=widths[2], no_wrap=True, overflow="ellipsis")
    table.add_column("mastery", justify="center", min_width=7, no_wrap=True)
    table.add_column("method", max_width=widths[3], no_wrap=True, overflow="ellipsis")
    for record in records:
        _, user_uuid, outcome_id, _, context_id = record.key
        rollup, rating = record.rollup, record.rollup.rating
        rating_text = Text("-")
        if rating is not None:
            style = f"bold on #{rating.color}" if rating.color else ""
            rating_text = Text(f" {rating.description or rating.points} ", style=style)
        method = service.method_label(rollup.calculation_method, rollup.calculation_int)
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
    report = existing_store(store, read_models).rebuild(progress=progress_bar)
    if as_json:
        write_json(report)
    else:
        out.print(
            f"rebuilt the read models from {report['events']:,} events "
            f"in {report['elapsed_seconds']:.2f} s ({report['events_per_second']:,.0f} events/s)"
        )
