"""`mastery gaps`: what the stream lost, per period and event type (`reconcile.py` repairs it)."""

from __future__ import annotations

import csv
import sys
from enum import StrEnum
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.table import Table
from rich.text import Text

from replay.cli.options import ReadModelsOption, StoreOption, existing_store, out
from replay.service import daily_counts, duration


class GapFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Period(StrEnum):
    day = "day"
    hour = "hour"


def gaps(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    since: Annotated[
        str | None, typer.Option(help="First period shown (a date, or a time for --by hour).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Last period shown, inclusive.")] = None,
    by: Annotated[Period, typer.Option(help="Period length.")] = Period.day,
    root_account: Annotated[
        str | None, typer.Option(help="Only this root account (global or local id).")
    ] = None,
    late_answers: Annotated[
        bool,
        typer.Option(
            help="Work out how many rollups as of each period's end later events changed."
        ),
    ] = True,
    output_format: Annotated[
        GapFormat, typer.Option("--format", help="Output format.")
    ] = GapFormat.table,
) -> None:
    """Delivery gaps: events per period and type by event and recording time, delays, flags."""
    report = existing_store(store, read_models).gaps(
        by=by.value,
        since=since,
        until=until,
        root_account=root_account,
        late_answers=late_answers,
    )
    if output_format is GapFormat.json:
        sys.stdout.write(orjson.dumps(report).decode() + "\n")
    elif output_format is GapFormat.csv:
        _gaps_csv(report)
    else:
        _gaps_tables(report)


_CSV_COLUMNS = (
    "period",
    "canvas_event",
    "by_event_time",
    "by_recorded_at",
    "duplicates",
    "quarantined",
    "backfilled",
    "delay_p50_s",
    "delay_p95_s",
    "delay_max_s",
    "flags",
)


def _gaps_csv(report: dict[str, Any]) -> None:
    flags: dict[tuple[str, str], list[str]] = {}
    for flag in report["flags"]:
        name = "*" if flag["series"] == "all" else flag["name"]
        flags.setdefault((flag["period"], name), []).append(flag["flag"])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    rows_by_period: dict[str, list[dict[str, Any]]] = {}
    for row in report["rows"]:
        rows_by_period.setdefault(row["period"], []).append(row)
    for total in report["totals"]:
        period = total["period"]
        for row in [{**total, "canvas_event": "*"}, *rows_by_period.get(period, [])]:
            marks = flags.get((period, row["canvas_event"]), [])
            writer.writerow(
                [
                    *(_cell(row.get(column)) for column in _CSV_COLUMNS[:-1]),
                    " ".join(sorted(set(marks))),
                ]
            )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


_BARS = " ▁▂▃▄▅▆▇█"


def daily_chart(report: dict[str, Any]) -> Table:
    """One column per day: events by event time, by recording time, and the day's flags."""
    daily = daily_counts(report)
    days, top = daily.days, daily.top
    chart = Table(box=None, show_header=False, padding=(0, 1), title_justify="left")
    chart.title = f"per day, {days[0] if days else ''} to {days[-1] if days else ''} (max {top:,})"
    chart.add_column(style="bold", no_wrap=True)
    chart.add_column(no_wrap=False, overflow="fold")
    lines = [Text(), Text(), Text()]
    for day in days:
        event_count, recorded_count = daily.counts[day]
        style = "red" if daily.flags.get(day) else "cyan"
        lines[0].append(_bar(event_count, top), style=style)
        lines[1].append(_bar(recorded_count, top), style="green")
        lines[2].append(daily.mark(day) or " ", style="bold red")
    chart.add_row("by event time", lines[0])
    chart.add_row("by recorded", lines[1])
    chart.add_row("flags", lines[2])
    return chart


def _bar(count: int, top: int) -> str:
    if count <= 0:
        return "·"
    return _BARS[max(1, round(count / top * (len(_BARS) - 1)))]


def _gaps_tables(report: dict[str, Any]) -> None:
    if not report["totals"]:
        out.print("no events in the store for these periods")
        return
    if out.is_terminal:
        out.print(daily_chart(report))
    table = Table(
        title=f"deliveries per {report['by']}{_root_title(report)}: events by event time and by "
        "recording time, duplicates, quarantined lines, backfilled events, delay p50/p95/max",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("period / event type", no_wrap=True, max_width=32, overflow="ellipsis")
    widths = {"by event": 8, "recorded": 8, "dup": 5, "quar": 5, "backf": 5}
    for column in (*widths, "p50", "p95", "max"):
        table.add_column(column, justify="right", no_wrap=True, min_width=widths.get(column, 6))
    flagged = {flag["period"] for flag in report["flags"]}
    rows_by_period: dict[str, list[dict[str, Any]]] = {}
    for row in report["rows"]:
        rows_by_period.setdefault(row["period"], []).append(row)
    for total in report["totals"]:
        period = total["period"]
        table.add_row(
            Text(
                period + (" !" if period in flagged else ""),
                style="bold red" if period in flagged else "bold",
            ),
            f"{total['by_event_time']:,}",
            f"{total['by_recorded_at']:,}",
            f"{total['duplicates']:,}",
            f"{total['quarantined']:,}",
            f"{total['backfilled']:,}",
            duration(total["delay_p50_s"]),
            duration(total["delay_p95_s"]),
            duration(total["delay_max_s"]),
        )
        for row in rows_by_period.get(period, []):
            table.add_row(
                Text("  " + row["canvas_event"], style="dim"),
                f"{row['by_event_time']:,}",
                f"{row['by_recorded_at']:,}",
                f"{row['duplicates']:,}",
                "",
                "",
                duration(row["delay_p50_s"]),
                duration(row["delay_p95_s"]),
                duration(row["delay_max_s"]),
            )
    out.print(table)
    _flag_table(report)
    _late_table(report)


def _root_title(report: dict[str, Any]) -> str:
    return f", root account {report['root_account']}" if report["root_account"] else ""


def _flag_table(report: dict[str, Any]) -> None:
    if not report["flags"]:
        out.print("flags: none")
        return
    table = Table(title=f"flags: {len(report['flags'])}", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("period", "flag", "series", "evidence"):
        table.add_column(column, overflow="fold")
    for flag in report["flags"]:
        evidence = flag["evidence"]
        if flag["flag"] == "late":
            text = (
                f"{evidence['late_events']:,} of {evidence['events']:,} events recorded more than "
                f"{evidence['late_after_hours']:g} h after the period, up to "
                f"{evidence['max_days_after_period']:g} days"
            )
        else:
            text = (
                f"{evidence['count']:,} events; previous {evidence['window']} periods: "
                f"median {evidence['trailing_median']:g}, min {evidence['trailing_min']:,}"
            )
        series = "all events" if flag["series"] == "all" else f"{flag['series']} {flag['name']}"
        table.add_row(flag["period"], Text(flag["flag"], style="bold red"), series, text)
    out.print(table)


def _late_table(report: dict[str, Any]) -> None:
    rows = [row for row in report["late_answers"] if row["candidates"]]
    if not report["late_answers"]:
        out.print(
            "late answers: none to work out (the store recorded nothing before the last period "
            "ended: a one-off replay of old dumps)"
        )
        return
    table = Table(
        title="late answers: rollups as of each period's end changed by events recorded after it",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in (
        "period",
        "keys touched",
        "changed",
        "new",
        "mastery flipped",
        "mean |Δ|",
        "max |Δ|",
    ):
        table.add_column(column, justify="right" if column != "period" else "left")
    for row in rows:
        table.add_row(
            row["period"],
            f"{row['candidates']:,}",
            f"{row['changed']:,}",
            f"{row['appeared']:,}",
            f"{row['mastery_flipped']:,}",
            "-" if row["score_change_mean"] is None else f"{row['score_change_mean']:.2f}",
            "-" if row["score_change_max"] is None else f"{row['score_change_max']:.2f}",
        )
    wrong = sum(1 for row in report["late_answers"] if row["changed"])
    out.print(table)
    out.print(
        f"a report made at the end of a period about that period was wrong for "
        f"{wrong} of {len(report['late_answers'])} periods"
    )
