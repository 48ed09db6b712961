"""The Delivery page: `mastery gaps` (without late answers) as a per-period chart, its
flags and the deliveries of each period."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

import replay.web.canvas as canvas
import replay.web.charts as charts
from replay.service import MasteryService
from replay.web.rendering import Renderer

_GAP_PARAMETERS = ("since", "until", "by", "root_account_id")


class DeliveryPage:
    def __init__(self, mastery: MasteryService, renderer: Renderer) -> None:
        self.service = mastery
        self.render = renderer.render

    async def delivery_page(self, request: Request) -> Response:
        """`mastery gaps` (without late answers): the per-day chart, flags, deliveries."""
        params = request.query_params.multi_items()
        chosen = canvas.gap_options(params)

        def ask() -> dict[str, Any]:
            return self.service.gaps(
                **chosen,
                late_answers=False,
            )

        report = await run_in_threadpool(ask)
        flags: dict[str, list[str]] = {}
        for flag in report["flags"]:
            marks = flags.setdefault(flag["period"], [])
            if flag["flag"] not in marks:
                marks.append(flag["flag"])
        rows: dict[str, list[dict[str, Any]]] = {}
        for row in report["rows"]:
            rows.setdefault(row["period"], []).append(row)
        return self.render(
            request,
            "delivery.html",
            report=report,
            chart=charts.delivery_chart(report),
            flags_by_period=flags,
            rows_by_period=rows,
            since=chosen["since"],
            until=chosen["until"],
            query=urlencode([(k, v) for k, v in params if k in _GAP_PARAMETERS and v]),
        )
