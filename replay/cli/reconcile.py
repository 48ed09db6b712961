"""`mastery reconcile`: the log against a Canvas Data 2 snapshot, and what `--backfill` did."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.table import Table

from replay.cli.options import ReadModelsOption, StoreOption, existing_store, out


class ReconcileFormat(StrEnum):
    table = "table"
    json = "json"


def reconcile(
    cd2: Annotated[
        str,
        typer.Option(
            help="A CD2 snapshot file, or a directory of the files `dap snapshot` wrote "
            "(learning_outcome_results, optionally learning_outcomes, learning_outcome_groups, "
            "outcome_proficiencies, outcome_proficiency_ratings, users), gzip JSON lines or CSV."
        ),
    ],
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Compare the log as of this time (default: the snapshot's latest meta.ts)."
        ),
    ] = None,
    backfill: Annotated[
        bool,
        typer.Option(
            help="Append what the log lacks as events marked as coming from this snapshot."
        ),
    ] = False,
    output_format: Annotated[
        ReconcileFormat, typer.Option("--format", help="Output format.")
    ] = ReconcileFormat.table,
) -> None:
    """Compare the log with a Canvas Data 2 snapshot; exit 1 when anything is missing or differs."""
    report = existing_store(store, read_models).reconcile(cd2, as_of=as_of, backfill=backfill)
    if output_format is ReconcileFormat.json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    else:
        _reconcile_tables(report)
    if report["differs"]:
        raise typer.Exit(1)


_DETAILS = 20


def _reconcile_tables(report: dict[str, Any]) -> None:
    """The report as a person reads it: the counts, then the first differences of each kind."""
    out.print(_reconcile_summary(report))
    details = _reconcile_details(report)
    if details.row_count:
        out.print(details)


def _reconcile_summary(report: dict[str, Any]) -> Table:
    """Counts: the snapshot's rows, what differs for results and the other tables, and
    what a backfill appended."""
    summary = report["summary"]
    snapshot = report["snapshot"]
    table = Table(
        title=f"reconcile with CD2 snapshot at {snapshot['at']} (log as of {report['as_of']})",
        show_header=False,
        title_justify="left",
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, rows in snapshot["rows"].items():
        table.add_row(f"CD2 rows: {name}", f"{rows:,}")
    table.add_row("results compared", f"{summary['cd2_results_compared']:,}")
    table.add_row("missing from the log", f"{summary['missing_from_log']:,}")
    table.add_row("in the log, not in CD2", f"{summary['not_in_cd2']:,}")
    table.add_row("deleted in CD2, active in the log", f"{summary['deleted_in_cd2']:,}")
    table.add_row("fields differ", f"{summary['mismatched']:,}")
    for name, count in summary["mismatched_by_field"].items():
        table.add_row(f"  {name}", f"{count:,}")
    if summary["cd2_rows_after_as_of"]:
        table.add_row("CD2 rows created after as-of", f"{summary['cd2_rows_after_as_of']:,}")
    for name, part in report["other_tables"].items():
        table.add_row(
            f"{name}: missing / not in CD2 / state differs",
            f"{len(part['missing_from_log']):,} / {len(part['not_in_cd2']):,} / "
            f"{len(part['workflow_state_differs']):,}",
        )
    if "backfill" in report:
        _add_backfill_rows(table, report)
    return table


def _add_backfill_rows(table: Table, report: dict[str, Any]) -> None:
    """What --backfill appended, and what still differs after it (the check that it worked)."""
    done = report["backfill"]
    table.add_row("backfilled events appended", f"{done['appended']:,}")
    for name, count in done["by_table"].items():
        table.add_row(f"  {name}", f"{count:,}")
    if done["log_newer_kept"]:
        table.add_row("  log newer, kept", f"{done['log_newer_kept']:,}")
    if done["without_user_uuid"]:
        table.add_row(
            "  results not backfilled: no student uuid (add CD2's users table)",
            f"{done['without_user_uuid']:,}",
        )
    after = report["after_backfill"]
    table.add_row("after backfill: missing", f"{after['summary']['missing_from_log']:,}")
    table.add_row("after backfill: fields differ", f"{after['summary']['mismatched']:,}")
    for name, part in after["other_tables"].items():
        if part["missing_from_log"] or part["workflow_state_differs"]:
            table.add_row(
                f"after backfill: {name} missing / state differs",
                f"{len(part['missing_from_log']):,} / {len(part['workflow_state_differs']):,}",
            )


def _reconcile_details(report: dict[str, Any]) -> Table:
    """The first differences of each kind, one row each: enough to look them up, short
    enough to read (the JSON format has them all)."""
    details = Table(title="details (first 20 of each)", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("result", "difference", "where"):
        details.add_column(column, overflow="fold")
    for item in report["missing_from_log"][:_DETAILS]:
        details.add_row(
            item["id"], f"missing from the log ({item['workflow_state']})", item["where"]
        )
    for item in report["not_in_cd2"][:_DETAILS]:
        details.add_row(item["id"], "in the log, not in CD2", "")
    for item in report["deleted_in_cd2"][:_DETAILS]:
        details.add_row(item["id"], "deleted in CD2", item["where"])
    for item in report["mismatches"][:_DETAILS]:
        text = ", ".join(
            f"{name}: log {values['log']!r} / CD2 {values['cd2']!r}"
            for name, values in item["fields"].items()
        )
        details.add_row(item["id"], text, item["where"])
    return details
