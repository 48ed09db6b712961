"""Charts as numbers for the templates to draw as inline SVG (no script, no library).

The templates escape every text; colours are checked hex (`#` + 6 digits) before
they reach an attribute.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from replay.service import HistoryPoint, daily_counts
from replay.web.gradebook import epoch, short_time

WIDTH, HEIGHT = 640, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 28
_HEX = re.compile(r"^[0-9A-Fa-f]{6}$")


def hex_colour(value: str | None, default: str = "6B7280") -> str:
    return "#" + (value if value and _HEX.match(value) else default)


@dataclass(slots=True)
class ChartPoint:
    x: float
    y: float
    colour: str
    label: str


@dataclass(slots=True)
class LineChart:
    title: str
    subtitle: str
    path: str
    points: list[ChartPoint]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str, str]]
    marker: float | None
    mastery_y: float | None
    width: int = WIDTH
    height: int = HEIGHT
    empty: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)


def history_chart(
    title: str,
    subtitle: str,
    points: list[HistoryPoint],
    span: tuple[str, str],
    top_score: float,
    mastery_points: float | None,
    as_of: str | None,
) -> LineChart:
    """A step line of the score over valid time, a dot at each change, coloured by rating."""
    start, end = epoch(span[0]), epoch(span[1])
    if points:
        start, end = min(start, epoch(points[0].at)), max(end, epoch(points[-1].at))
    end = max(end, start + 1)
    top = max(top_score, *(p.score or 0 for p in points)) if points else top_score
    if top > top_score:  # a score above the scale's top: round the axis up
        top = float(math.ceil(top))
    top = top or 1.0

    def x(seconds: float) -> float:
        return LEFT + (seconds - start) / (end - start) * (WIDTH - LEFT - RIGHT)

    def y(score: float) -> float:
        return TOP + (1 - score / top) * (HEIGHT - TOP - BOTTOM)

    path: list[str] = []
    dots: list[ChartPoint] = []
    rows: list[dict[str, Any]] = []
    previous: float | None = None
    for point in points:
        px = x(epoch(point.at))
        causes = ", ".join(
            f"result {c['result_id']} ({c['event']}, score {c['score']})" for c in point.causes
        )
        label = f"{short_time(point.at)}: " + (
            "no score" if point.score is None else f"{point.score:g} {point.rating or ''}".strip()
        )
        if causes:
            label += f" - {causes}"
        rows.append({"at": short_time(point.at), "point": point, "causes": causes or "settings"})
        if point.score is None:
            previous = None
            continue
        py = y(point.score)
        if previous is None:
            path.append(f"M{px:.1f},{py:.1f}")
        else:
            path.append(f"H{px:.1f}V{py:.1f}")
        previous = py
        dots.append(ChartPoint(px, py, hex_colour(point.color), label))
    if previous is not None:
        path.append(f"H{x(end):.1f}")
    ticks = 4
    y_ticks = [(y(top * i / ticks), f"{top * i / ticks:g}") for i in range(ticks + 1)]
    x_ticks = [
        (
            x(start + (end - start) * i / 4),
            short_time(_iso(start + (end - start) * i / 4))[:10],
            ("start", "middle", "middle", "middle", "end")[i],
        )
        for i in range(5)
    ]
    marker = None
    if as_of:
        seconds = epoch(as_of)
        if start <= seconds <= end:
            marker = x(seconds)
    return LineChart(
        title=title,
        subtitle=subtitle,
        path="".join(path),
        points=dots,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        marker=marker,
        mastery_y=y(mastery_points) if mastery_points and mastery_points <= top else None,
        empty=not points,
        rows=rows,
    )


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class Bar:
    x: float
    width: float
    height: float
    y: float
    colour: str
    label: str
    percent: int


def distribution_bars(
    ratings: list[dict[str, Any]], width: int = 560, height: int = 130
) -> list[Bar]:
    """One bar per rating, its height the percent of students."""
    if not ratings:
        return []
    slot = width / len(ratings)
    bars = []
    for i, rating in enumerate(ratings):
        percent = int(rating["percent"])
        tall = (height - 20) * percent / 100
        bars.append(
            Bar(
                x=i * slot + 4,
                width=slot - 8,
                height=tall,
                y=height - 20 - tall,
                colour=hex_colour(rating.get("color")),
                label=_fit(str(rating.get("description") or rating.get("points")), slot),
                percent=percent,
            )
        )
    return bars


def _fit(label: str, room: float) -> str:
    """A label cut to what fits under its bar (about 6.5 px a character)."""
    most = max(3, int(room / 6.5))
    return label if len(label) <= most else label[: most - 1] + "…"


@dataclass(slots=True)
class DeliveryDay:
    """One period's two bars (events by event time, by recording time) and its marks."""

    x: float
    event_y: float
    event_height: float
    recorded_y: float
    recorded_height: float
    mark: str
    label: str


@dataclass(slots=True)
class DeliveryChart:
    days: list[DeliveryDay]
    bar_width: float
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str, str]]
    top: int
    width: int
    height: int = HEIGHT
    base: float = HEIGHT - BOTTOM


DELIVERY_WIDTH = 1000
"""Wider than the other charts: a page-wide card, one pair of bars a day."""


def delivery_chart(report: dict[str, Any]) -> DeliveryChart:
    """`mastery gaps`' per-day chart as bars: for each day, events by event time and by
    recording time side by side; under a flagged day `!` (silent, drop) or `L` (late)."""
    daily = daily_counts(report)
    days, top = daily.days, daily.top
    slot = max(6.0, (DELIVERY_WIDTH - LEFT - RIGHT) / max(1, len(days)))
    width = int(LEFT + RIGHT + slot * len(days))
    base = HEIGHT - BOTTOM

    def height(count: int) -> float:
        return (base - TOP) * count / top

    bars = []
    for index, day in enumerate(days):
        events, recorded = daily.counts[day]
        marks = daily.flags.get(day, set())
        mark = daily.mark(day)
        flags = f"; flags: {', '.join(sorted(marks))}" if marks else ""
        x = LEFT + index * slot
        bars.append(
            DeliveryDay(
                x=x,
                event_y=base - height(events),
                event_height=height(events),
                recorded_y=base - height(recorded),
                recorded_height=height(recorded),
                mark=mark,
                label=f"{day}: {events:,} by event time, {recorded:,} by recording time{flags}",
            )
        )
    step = max(1, len(days) // 8)
    ticks = [(LEFT + i * slot, day) for i, day in enumerate(days) if i % step == 0]
    return DeliveryChart(
        days=bars,
        bar_width=max(1.0, slot / 2 - 0.5),
        y_ticks=[(base - height(round(top * i / 4)), f"{round(top * i / 4):,}") for i in range(5)],
        x_ticks=[
            (x, day, "end" if x > width - 80 else "start") for x, day in ticks
        ],  # a label near the right edge ends there
        top=top,
        width=width,
    )
