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
import hmac
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

import replay.web.canvas as canvas
import replay.web.charts as charts
from replay import service
from replay.service import BadQuestion, CourseFacts, CourseView, MasteryReader, MasteryService
from replay.service.access import AccessService
from replay.web.cache import FactsCache
from replay.web.gradebook import (
    NO_SCORE,
    PAGE_SIZES,
    cell,
    columns,
    epoch,
    gradebook,
    options,
    short_time,
)
from replay.web.security import SESSION_COOKIE, grant_of

T = TypeVar("T")
STATIC = Path(__file__).parent / "static"


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
        self.access = access
        self.secure_cookies = secure_cookies
        self.env = environment()
        self.env.globals["text_colour"] = text_colour
        self.cache = cache or FactsCache()

    def facts(self, reader: MasteryReader, view: CourseView) -> CourseFacts:
        """The course's span and first results, kept while the read models stay put."""
        return self.cache.facts(reader, view)

    def routes(self) -> list[Route]:
        course = "/courses/{course_id}"
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.courses),
            Route(course, self.course_page),
            Route(f"{course}/grid", self.course_grid),
            Route(f"{course}/aggregate", self.course_aggregate),
            Route(f"{course}/gradebook.csv", self.course_csv),
            Route(f"{course}/outcomes", self.outcomes_page),
            Route(f"{course}/outcomes/fragment", self.outcomes_fragment),
            Route(course + "/students/{user_uuid}", self.student_page),
            Route(course + "/students/{user_uuid}/fragment", self.student_fragment),
            Route("/delivery", self.delivery_page),
        ]

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

    # -- signing in and out --------------------------------------------------------
    async def login_form(self, request: Request) -> Response:
        return self.render(request, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        token = form.get("token", "").strip()
        target = _safe_next(form.get("next") or "/")
        grant = self.access.authenticate(token)
        if grant is None or grant.scope != "read":
            reason = (
                "That token is not a read token: it cannot open the gradebook."
                if grant is not None
                else "That token is not known (or was revoked)."
            )
            return self.render(request, "login.html", 401, next=target, failed=reason)
        secret, _ = self.access.open_session(grant)
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies or request.url.scheme == "https",
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        grant = grant_of(request)
        form = await _form(request)
        sent = form.get("csrf", "")
        if grant is None or grant.csrf is None or not hmac.compare_digest(sent, grant.csrf):
            return self.error_page(
                request, 403, "Sign-out refused", "The form was not this page's."
            )
        self.access.end_session(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

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

    # -- delivery: what the stream lost ----------------------------------------------
    async def delivery_page(self, request: Request) -> Response:
        """`mastery gaps` (without late answers): the per-day chart, flags, deliveries."""
        params = request.query_params.multi_items()
        chosen = canvas.gap_options(params)

        def ask() -> dict[str, Any]:
            return self.service.gaps(
                by=chosen["by"] or "day",
                since=chosen["since"],
                until=chosen["until"],
                root_account=chosen["root_account"],
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


_GAP_PARAMETERS = ("since", "until", "by", "root_account_id")


def duration(seconds: float | None) -> str:
    """A delay as `mastery gaps` prints it: `670 d`, `2.5 h`, `12.0 s`; `-` for none."""
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            value = seconds / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{seconds:.1f} s"


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
    from urllib.parse import urlencode

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


def _safe_next(target: str | None) -> str:
    """Only a path of this site (not `//other.site`, not a URL)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


MAX_FORM_BYTES = 4096


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (sign-in, sign-out); anything else is an empty form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    return {key: value for key, value in parse_qsl(body.decode("utf-8", errors="replace"))}
