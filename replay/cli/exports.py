"""Exports for downstream systems: Canvas-shaped rollups and results, ratings, the feed.

Every export streams: rows are written as they are read (a CSV writer, or one
`orjson.dumps` per item), students are read a few hundred at a time, and a progress
bar shows on a terminal (stderr) for large outputs, never in a pipe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich import box
from rich.table import Table

from replay import service
from replay.cli.options import (
    ReadModelsOption,
    StoreOption,
    err,
    existing_store,
    fail,
    out,
)
from replay.cli.output import output_to, write_json, write_json_lines
from replay.cli.progress import progress_bar

if TYPE_CHECKING:
    from replay.service import CourseView, MasteryReader

PROGRESS_FROM = 2_000
"""Outputs with fewer rows than this finish before a bar would be worth drawing."""

CourseOption = Annotated[str, typer.Option("--course", help="Course id.")]
AsOfOption = Annotated[
    str | None, typer.Option(help="As Canvas had it then (a date means its end).")
]
KnownAtOption = Annotated[
    str | None, typer.Option(help="Only what this store had recorded by then.")
]
RootAccountOption = Annotated[
    str | None,
    typer.Option(help="Root account id; only needed when the course id is in several."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="File to write (default stdout).")
]


class RollupFormat(StrEnum):
    json = "json"
    csv = "csv"


class Aggregate(StrEnum):
    mean = "mean"
    median = "median"


class ResultFormat(StrEnum):
    csv = "csv"


class DistributionFormat(StrEnum):
    table = "table"
    json = "json"


class FeedFormat(StrEnum):
    jsonl = "jsonl"


@contextmanager
def _course_view(
    store: str | None,
    read_models: str | None,
    course: str,
    as_of: str | None,
    known_at: str | None,
    root_account: str | None,
) -> Iterator[tuple[MasteryReader, CourseView]]:
    with existing_store(store, read_models).reading() as reader:
        view = reader.course(course, as_of=as_of, known_at=known_at, root_account=root_account)
        if not view.outcomes_from_links:
            err.print(
                f"[yellow]note:[/] no outcome link of course {view.course} is known: "
                "every outcome with a result there is exported"
            )
        yield reader, view


def rollups(
    course: CourseOption,
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    aggregate: Annotated[
        Aggregate | None,
        typer.Option(help="One rollup for the course: students' mean (2 places) or median."),
    ] = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    root_account: RootAccountOption = None,
    output_format: Annotated[
        RollupFormat,
        typer.Option("--format", help="json: Canvas's outcome_rollups; csv: the LMGB export."),
    ] = RollupFormat.json,
    output: OutputOption = None,
) -> None:
    """A course's rollups in the shape of Canvas's outcome_rollups API, or its CSV export."""
    if aggregate is not None and output_format is not RollupFormat.json:
        raise fail("--aggregate gives one rollup for the course: use it with --format json", 2)
    with (
        _course_view(store, read_models, course, as_of, known_at, root_account) as (_, view),
        output_to(output) as target,
    ):
        students = view.students()
        if aggregate is not None:
            document = {"rollups": [service.aggregate_rollup_json(view, aggregate.value)]}
            target.write(orjson.dumps(document).decode() + "\n")
            return
        with _progress(len(students), "students") as advance:
            if output_format is RollupFormat.csv:
                writer = csv.writer(target, lineterminator="\n")
                writer.writerow(service.gradebook_header(view))
                for done, (user, records) in enumerate(view.rollups_by_student(), 1):
                    writer.writerow(_cells(service.gradebook_row(view, user, records)))
                    advance(done)
                return
            target.write('{"rollups": [')
            for done, (user, records) in enumerate(view.rollups_by_student(), 1):
                target.write(",\n" if done > 1 else "\n")
                target.write(orjson.dumps(service.student_rollup_json(user, records)).decode())
                advance(done)
            target.write("\n]}\n")


def results(
    course: CourseOption,
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    root_account: RootAccountOption = None,
    output_format: Annotated[
        ResultFormat, typer.Option("--format", help="csv: Canvas's Outcome Results report.")
    ] = ResultFormat.csv,
    output: OutputOption = None,
) -> None:
    """A course's outcome results, one row each, in Canvas's Outcome Results columns."""
    with _course_view(store, read_models, course, as_of, known_at, root_account) as (
        reader,
        view,
    ):
        total = reader.result_count(view)
        with output_to(output) as target, _progress(total, "results") as advance:
            writer = csv.writer(target, lineterminator="\n")
            writer.writerow(service.RESULT_COLUMNS)
            for done, row in enumerate(reader.result_rows(view), 1):
                writer.writerow(_cells(row))
                if done % 500 == 0:
                    advance(done)


def distribution(
    course: CourseOption,
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    root_account: RootAccountOption = None,
    output_format: Annotated[
        DistributionFormat, typer.Option("--format", help="table or json.")
    ] = DistributionFormat.table,
) -> None:
    """Percent of students in each rating, per outcome, as the gradebook header shows."""
    with _course_view(store, read_models, course, as_of, known_at, root_account) as (
        reader,
        view,
    ):
        documents = reader.distribution(view)
    if output_format is DistributionFormat.json:
        write_json(documents)
        return
    table = Table(title=f"rating distribution, course {view.course}", title_justify="left")
    table.box = box.SIMPLE_HEAD
    table.add_column("outcome", overflow="fold", max_width=48)
    table.add_column("students", justify="right")
    table.add_column("ratings (percent of students)", overflow="fold")
    for document in documents:
        shares = "  ".join(
            f"{rating['description'] or rating['points']}: {rating['percent']}%"
            for rating in document["ratings"]
        )
        table.add_row(f"{document['id']} {document['path']}", str(document["students"]), shares)
    out.print(table)


def changes(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    after: Annotated[
        int, typer.Option(min=0, help="The last sequence already applied (0: from the start).")
    ] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many changes.")] = None,
    output_format: Annotated[
        FeedFormat, typer.Option("--format", help="jsonl: one change per line.")
    ] = FeedFormat.jsonl,
) -> None:
    """Rollup changes after a sequence number, in order: poll it to follow every change."""
    write_json_lines(existing_store(store, read_models).changes(after, limit))


@contextmanager
def _progress(total: int, unit: str) -> Iterator[Any]:
    if total < PROGRESS_FROM:
        yield lambda completed: None
        return
    with progress_bar(total, unit=unit, label="exporting") as update:
        yield update


def _cells(row: list[Any]) -> list[Any]:
    """CSV cells: nothing for null, as Canvas's CSV writer leaves them."""
    return ["" if value is None else value for value in row]
