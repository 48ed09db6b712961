"""Rendering the web view's pages: one Jinja2 environment, autoescaped (every title
from an event is escaped where it is shown), and the small filters its templates use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

import replay.web.charts as charts
from replay.service import duration
from replay.web.gradebook import NO_SCORE, PAGE_SIZES, short_time
from replay.web.security import grant_of


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("replay.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        local_time=local_time,
        hex_colour=charts.hex_colour,
        short_time=short_time,
        duration=duration,
        text_colour=text_colour,
        PAGE_SIZES=PAGE_SIZES,
        NO_SCORE=NO_SCORE,
    )
    return env


def local_time(text: str | None) -> str:
    """A moment for a `datetime-local` field, in UTC (`2025-02-01T23:59:59`), or ""."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if len(text) == 10:
        moment = moment.replace(hour=23, minute=59, second=59)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def text_colour(hex_value: str | None) -> str:
    """Black or white text, whichever reads better on the cell's colour."""
    colour = charts.hex_colour(hex_value)[1:]
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "000000" if luminance > 0.55 else "FFFFFF"


class Renderer:
    """A page or a fragment from its template, with who is signed in."""

    def __init__(self) -> None:
        self.env = environment()

    def render(
        self, request: Request, template: str, code: int = 200, **context: Any
    ) -> HTMLResponse:
        grant = grant_of(request)
        html = self.env.get_template(template).render(
            request_path=request.url.path,
            grant=grant,
            csrf=grant.csrf if grant else None,
            **context,
        )
        return HTMLResponse(html, code)

    def error_page(
        self, request: Request, status: int, title: str, message: str, *, fragment: bool = False
    ) -> HTMLResponse:
        template = "_error.html" if fragment else "error.html"
        return self.render(request, template, status, status=status, title=title, message=message)
