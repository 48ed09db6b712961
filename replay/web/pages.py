"""The web view: server-rendered pages (Jinja2, autoescaped), and the fragments the
page's own script fetches to redraw a view at another moment without reloading.

Routes (every one takes `as_of` and `known_at`):

    GET  /login, POST /login, POST /logout     sign in with a token, sign out
    GET  /                                     the courses
    GET  /courses/{id}          (+ /grid)      the gradebook (+ its redrawable part)
    GET  /courses/{id}/aggregate               the mean / median row (fetched after)
    GET  /courses/{id}/gradebook.csv           `mastery rollups --format csv`
    GET  /courses/{id}/outcomes (+ /fragment)  the group tree and rating distributions
    GET  /courses/{id}/students/{uuid} (+ /fragment)   a student's mastery over time
    GET  /delivery                             what the stream lost (`mastery gaps`)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

import replay.web.canvas as canvas
import replay.web.charts as charts
from replay import service
from replay.service import BadQuestion, CourseFacts, CourseView, MasteryReader, MasteryService
from replay.service.access import AccessService
from replay.web.cache import FactsCache
from replay.web.delivery_page import DeliveryPage
from replay.web.gradebook import (
    cell,
    columns,
    epoch,
    gradebook,
    options,
    short_time,
)
from replay.web.rendering import Renderer
from replay.web.signin import SignIn

T = TypeVar("T")
STATIC = Path(__file__).parent / "static"


class Pages:
    def __init__(
        self,
        mastery: MasteryService,
        access: AccessService,
        *,
        secure_cookies: bool,
        cache: FactsCache | None = None,
    ) -> None:
        self.service = mastery
        self.renderer = Renderer()
        self.sign_in = SignIn(access, self.renderer, secure_cookies=secure_cookies)
        self.delivery = DeliveryPage(mastery, self.renderer)
        self.cache = cache or FactsCache()

    def facts(self, reader: MasteryReader, view: CourseView) -> CourseFacts:
        """The course's span and first results, kept while the read models stay put."""
        return self.cache.facts(reader, view)

    def routes(self) -> list[Route]:
        course = "/courses/{course_id}"
        return [
            *self.sign_in.routes(),
            Route("/", self.courses),
            Route(course, self.course_page),
            Route(f"{course}/grid", self.course_grid),
            Route(f"{course}/aggregate", self.course_aggregate),
            Route(f"{course}/gradebook.csv", self.course_csv),
            Route(f"{course}/outcomes", self.outcomes_page),
            Route(f"{course}/outcomes/fragment", self.outcomes_fragment),
            Route(course + "/students/{user_uuid}", self.student_page),
            Route(course + "/students/{user_uuid}/fragment", self.student_fragment),
            Route("/delivery", self.delivery.delivery_page),
        ]

    def render(
        self, request: Request, template: str, code: int = 200, **context: Any
    ) -> HTMLResponse:
        return self.renderer.render(request, template, code, **context)

    def error_page(
        self, request: Request, status: int, title: str, message: str, *, fragment: bool = False
    ) -> HTMLResponse:
        return self.renderer.error_page(request, status, title, message, fragment=fragment)

    # -- courses -------------------------------------------------------------------
    async def courses(self, request: Request) -> Response:
        def ask() -> list[Any]:
            with self.service.reading() as reader:
                return reader.courses()

        return self.render(request, "courses.html", courses=await run_in_threadpool(ask))

    async def _course(
        self, request: Request, answer: Callable[[MasteryReader, CourseView, canvas.Params], T]
    ) -> T:
        params = request.query_params.multi_items()
        moment = canvas.moment(params)

        def ask() -> T:
            with self.service.reading() as reader:
                view = reader.course(
                    request.path_params["course_id"], as_of=moment.as_of, known_at=moment.known_at
                )
                if view.question.as_of is not None:
                    first = self.facts(reader, view).first_event
                    if view.moment.valid < first:
                        raise BeforeAnyEvent(view.course, first)
                return answer(reader, view, params)

        return await run_in_threadpool(ask)

    def _gradebook_context(
        self, reader: MasteryReader, view: CourseView, params: canvas.Params
    ) -> dict[str, Any]:
        chosen = options(params)
        book = gradebook(reader, view, chosen, self.facts(reader, view))
        return {
            "book": book,
            "course": view.course,
            "slider": _slider(book.first_event, book.last_event, chosen.as_of),
            "known_at": chosen.known_at,
            "as_of": chosen.as_of,
            "moment": service.moment_text(view.question),
        }

    async def course_page(self, request: Request) -> Response:
        context = await self._course(request, self._gradebook_context)
        return self.render(request, "course.html", **context)

    async def course_grid(self, request: Request) -> Response:
        context = await self._course(request, self._gradebook_context)
        return self.render(request, "_grid.html", **context)

    async def course_aggregate(self, request: Request) -> Response:
        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> dict[str, Any]:
            stat = canvas.choice(params, "stat", ("mean", "median"), "mean") or "mean"
            students = reader.students(view, self.facts(reader, view))
            document = reader.aggregate(view, stat, students)
            scores = {s["links"]["outcome"]: s for s in document["scores"]}
            cols = columns(view)
            cells = []
            for column in cols:
                score = scores.get(column.outcome_id)
                cells.append(
                    (
                        column.outcome_id,
                        score["score"] if score else None,
                        score["count"] if score else 0,
                    )
                )
            return {"cells": cells, "stat": stat}

        context = await self._course(request, answer)
        return self.render(request, "_aggregate.html", **context)

    async def course_csv(self, request: Request) -> Response:
        def answer(reader: MasteryReader, view: CourseView, params: canvas.Params) -> str:
            target = io.StringIO()
            writer = csv.writer(target, lineterminator="\n")
            writer.writerow(service.gradebook_header(view))
            grid = reader.course_grid(view)  # `mastery rollups --format csv`, from one scan
            for user in reader.students(view, self.facts(reader, view)):
                row = service.gradebook_row(view, user, grid.get(user, []))
                writer.writerow(["" if value is None else value for value in row])
            return target.getvalue()

        body = await self._course(request, answer)
        name = f"mastery-course-{request.path_params['course_id']}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- outcomes: the tree and the distributions ----------------------------------
    def _outcomes_context(
        self, reader: MasteryReader, view: CourseView, params: canvas.Params
    ) -> dict[str, Any]:
        facts = self.facts(reader, view)
        first, last = facts.first_event, facts.last_event
        tree = reader.course_tree(view)
        distribution = reader.course_distribution(view)
        return {
            "course": view.course,
            "tree": tree.snapshot if tree is not None else None,
            "distribution": [
                {**d, "bars": charts.distribution_bars(d["ratings"])} for d in distribution
            ],
            "slider": _slider(first, last, canvas.moment(params).as_of),
            "as_of": canvas.moment(params).as_of,
            "known_at": canvas.moment(params).known_at,
            "moment": service.moment_text(view.question),
            "moment_query": _moment_query(params),
        }

    async def outcomes_page(self, request: Request) -> Response:
        return self.render(
            request, "outcomes.html", **await self._course(request, self._outcomes_context)
        )

    async def outcomes_fragment(self, request: Request) -> Response:
        return self.render(
            request, "_outcomes.html", **await self._course(request, self._outcomes_context)
        )

    # -- a student -----------------------------------------------------------------
    def _student_context(
        self, reader: MasteryReader, view: CourseView, params: canvas.Params, user: str
    ) -> dict[str, Any]:
        facts = self.facts(reader, view)
        first, last = facts.first_event, facts.last_event
        as_of = canvas.moment(params).as_of
        history = reader.student_history(view, user)
        if not any(history.values()) and user not in view.students():
            raise service.NotFound(f"student {user}: no result in course {view.course} is known")
        now = reader.students_rollups(view, [user])[user]
        by_outcome = {r.key[2]: r for r in now}
        cols = columns(view)
        panels = []
        for column, outcome in zip(cols, view.outcomes, strict=True):
            points = history.get(column.outcome_id, [])
            settings = outcome.settings
            top = settings.points_possible or max((r.points for r in settings.ratings), default=5)
            panels.append(
                {
                    "column": column,
                    "cell": cell(by_outcome.get(column.outcome_id), column.mastery_points),
                    "chart": charts.history_chart(
                        column.title,
                        f"{column.group_path} · {column.method}"
                        if column.group_path
                        else column.method,
                        points,
                        (first, last),
                        float(top or 0.0),
                        column.mastery_points,
                        _moment_text(view),
                    ),
                }
            )
        return {
            "course": view.course,
            "user": user,
            "panels": panels,
            "slider": _slider(first, last, as_of),
            "as_of": as_of,
            "known_at": canvas.moment(params).known_at,
            "moment": service.moment_text(view.question),
            "moment_query": _moment_query(params),
        }

    async def student_page(self, request: Request) -> Response:
        user = request.path_params["user_uuid"]
        context = await self._course(request, lambda r, v, p: self._student_context(r, v, p, user))
        return self.render(request, "student.html", **context)

    async def student_fragment(self, request: Request) -> Response:
        user = request.path_params["user_uuid"]
        context = await self._course(request, lambda r, v, p: self._student_context(r, v, p, user))
        return self.render(request, "_student.html", **context)


class BeforeAnyEvent(BadQuestion):
    def __init__(self, course: str, first: str) -> None:
        super().__init__(
            f"Nothing of course {course} is known before its first event, at "
            f"{short_time(first)}: choose a later moment."
        )


def _moment_text(view: CourseView) -> str | None:
    as_of = view.question.as_of
    return None if as_of is None else as_of.isoformat()


def _moment_query(params: canvas.Params) -> str:

    moment = canvas.moment(params)
    return urlencode(
        [(k, v) for k, v in (("as_of", moment.as_of), ("known_at", moment.known_at)) if v]
    )


def _slider(first: str, last: str, as_of: str | None) -> dict[str, Any]:
    """The time slider over the course's events; at its right end, "now"."""
    low, high = epoch(first), epoch(last)
    value = high
    if as_of:
        try:
            value = max(low, min(high, epoch(as_of if len(as_of) != 10 else as_of + "T23:59:59Z")))
        except ValueError:
            value = high
    return {"min": low, "max": max(high, low + 1), "value": value, "first": first, "last": last}
