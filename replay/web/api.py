"""The JSON API: Canvas's paths, parameters and shapes where Canvas has the endpoint.

Every answer is the service's (the documents the command line prints), so the same
question through `mastery ...` and through the API gives the same JSON. Service
calls run in a worker thread: the event loop never waits on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import replay.web.canvas as canvas
from replay import service
from replay.service import BadQuestion, CourseView, MasteryReader, MasteryService
from replay.service.api_documents import (
    group_list_json,
    linked_outcome_json,
    linked_user_json,
    outcome_path_json,
    result_json,
)
from replay.web.cache import FactsCache

T = TypeVar("T")

CHANGES_POLL_SECONDS = 0.2
CHANGES_MAX_WAIT = 30
CHANGES_DEFAULT_LIMIT = 100
CHANGES_MAX_LIMIT = 10_000
INCLUDES = ("outcomes", "users", "outcome_paths")


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(document), status, headers, media_type="application/json")


class Api:
    def __init__(self, mastery: MasteryService, cache: FactsCache | None = None) -> None:
        self.service = mastery
        self.cache = cache or FactsCache()

    def routes(self) -> list[Route]:
        course = "/api/v1/courses/{course_id}"
        return [
            Route(f"{course}/outcome_rollups", self.outcome_rollups),
            Route(f"{course}/outcome_results", self.outcome_results),
            Route(f"{course}/outcome_groups", self.outcome_groups),
            Route(f"{course}/outcome_group_tree", self.outcome_group_tree),
            Route(f"{course}/outcome_distribution", self.outcome_distribution),
            Route("/api/v1/users/{user_uuid}/mastery", self.user_mastery),
            Route("/api/v1/changes", self.changes),
            Route("/api/v1/delivery", self.delivery),
        ]

    async def _course(
        self,
        request: Request,
        answer: Callable[[MasteryReader, CourseView, canvas.Params], T],
    ) -> T:
        params = request.query_params.multi_items()
        moment = canvas.moment(params)
        root = canvas.one(params, "root_account_id")

        def ask() -> T:
            with self.service.reading() as reader:
                view = reader.course(
                    request.path_params["course_id"],
                    as_of=moment.as_of,
                    known_at=moment.known_at,
                    root_account=root,
                )
                return answer(reader, view, params)

        return await run_in_threadpool(ask)

    async def outcome_rollups(self, request: Request) -> Response:
        """`GET /api/v1/courses/:id/outcome_rollups` (`mastery rollups`)."""

        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> tuple[dict[str, Any], str | None]:
            users, outcomes = (
                canvas.values(params, "user_ids"),
                canvas.values(params, "outcome_ids"),
            )
            aggregate = canvas.choice(params, "aggregate", ("course",), None)
            stat = canvas.choice(params, "aggregate_stat", ("mean", "median"), "mean")
            include = _includes(params)
            if aggregate is not None:
                document = {
                    "rollups": [
                        reader.aggregate(view, stat or "mean", users or None, outcomes or None)
                    ]
                }
                return _with_linked(document, view, include, []), None
            students = reader.students(view, self.cache.facts(reader, view))
            if users:
                asked = set(users)
                students = [s for s in students if s in asked]
            page = canvas.page(params)
            shown = students[page.offset : page.offset + page.per_page]
            by_student = reader.students_rollups(view, shown, outcomes or None)
            document = {"rollups": [service.student_rollup_json(u, by_student[u]) for u in shown]}
            link = canvas.link_header(
                str(request.url.replace(query="")), params, page, len(students)
            )
            return _with_linked(document, view, include, shown), link

        document, link = await self._course(request, answer)
        return json_response(document, headers={"Link": link} if link else None)

    async def outcome_results(self, request: Request) -> Response:
        """`GET /api/v1/courses/:id/outcome_results`: each result in its version then."""

        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> tuple[dict[str, Any], str]:
            users, outcomes = (
                canvas.values(params, "user_ids"),
                canvas.values(params, "outcome_ids"),
            )
            page = canvas.page(params)
            total, rows = reader.course_results(
                view, users, outcomes, offset=page.offset, limit=page.per_page
            )
            document = {"outcome_results": [result_json(row) for row in rows]}
            shown = sorted({row["user_uuid"] for row in rows})
            link = canvas.link_header(str(request.url.replace(query="")), params, page, total)
            return _with_linked(document, view, _includes(params), shown), link

        document, link = await self._course(request, answer)
        return json_response(document, headers={"Link": link})

    async def outcome_groups(self, request: Request) -> Response:
        """`GET /api/v1/courses/:id/outcome_groups`: the groups at the moment, flat."""

        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> tuple[list[dict[str, Any]], str]:
            tree = reader.course_tree(view)
            groups = group_list_json(tree) if tree is not None else []
            page = canvas.page(params)
            link = canvas.link_header(str(request.url.replace(query="")), params, page, len(groups))
            return groups[page.offset : page.offset + page.per_page], link

        groups, link = await self._course(request, answer)
        return json_response(groups, headers={"Link": link})

    async def outcome_group_tree(self, request: Request) -> Response:
        """The tree at the moment (`mastery hierarchy --context Course:ID --format json`)."""

        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> dict[str, Any] | None:
            tree = reader.course_tree(view)
            return None if tree is None else service.tree_json(tree, view.question)

        document = await self._course(request, answer)
        if document is None:
            raise service.NotFound("no outcome group or link of the course is known at that moment")
        return json_response(document)

    async def outcome_distribution(self, request: Request) -> Response:
        """Percent of students per rating, per outcome (`mastery distribution --format json`)."""

        def answer(
            reader: MasteryReader, view: CourseView, params: canvas.Params
        ) -> list[dict[str, Any]]:
            return reader.course_distribution(view)

        return json_response(await self._course(request, answer))

    async def user_mastery(self, request: Request) -> Response:
        """A student's rollups in every course, or across courses with `all_courses=true`
        (`mastery query --user U [--all-courses] --format json`)."""
        params = request.query_params.multi_items()
        moment = canvas.moment(params)
        asked = service.question(
            users=[request.path_params["user_uuid"]],
            outcomes=canvas.values(params, "outcome_ids"),
            as_of=moment.as_of,
            known_at=moment.known_at,
            all_courses=canvas.flag(params, "all_courses"),
        )

        def ask() -> list[dict[str, Any]]:
            with self.service.reading() as reader:
                return [service.rollup_json(r) for r in reader.stream_rollups(asked)]

        return json_response(await run_in_threadpool(ask))

    async def changes(self, request: Request) -> Response:
        """The change feed after `after` (`mastery changes`); with `wait=S`, held open until
        a change comes or S seconds pass, polling the read models every 0.2 s."""
        params = request.query_params.multi_items()
        if canvas.moment(params) != canvas.Moment(None, None):
            raise BadQuestion(
                "the change feed is not a question about a moment: it has no as_of or known_at"
            )
        after = canvas.number(params, "after", 0, least=0, most=None)
        limit = canvas.number(
            params, "limit", CHANGES_DEFAULT_LIMIT, least=1, most=CHANGES_MAX_LIMIT
        )
        wait = canvas.number(params, "wait", 0, least=0, most=CHANGES_MAX_WAIT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            rows = await run_in_threadpool(lambda: list(self.service.changes(after, limit)))
            if rows or loop.time() >= deadline or await request.is_disconnected():
                return json_response(rows)
            await asyncio.sleep(min(CHANGES_POLL_SECONDS, max(0.0, deadline - loop.time())))

    async def delivery(self, request: Request) -> Response:
        """The delivery-gap report (`mastery gaps --format json`): `since`, `until`, `by`,
        `root_account_id`, and `late_answers=false` for `--no-late-answers`."""
        params = request.query_params.multi_items()
        options = canvas.gap_options(params)
        late = canvas.one(params, "late_answers") is None or canvas.flag(params, "late_answers")

        def ask() -> dict[str, Any]:
            return self.service.gaps(
                **options,
                late_answers=late,
            )

        return json_response(await run_in_threadpool(ask))


def _includes(params: canvas.Params) -> list[str]:
    asked = canvas.values(params, "include")
    for name in asked:
        if name not in INCLUDES:
            raise BadQuestion(f"include[] {name!r}: expected one of {', '.join(INCLUDES)}")
    return asked


def _with_linked(
    document: dict[str, Any], view: CourseView, include: list[str], users: list[str]
) -> dict[str, Any]:
    """Canvas's side-loaded collections (`include[]`), under `linked`."""
    if not include:
        return document
    linked: dict[str, Any] = {}
    if "outcomes" in include:
        linked["outcomes"] = [linked_outcome_json(o) for o in view.outcomes]
    if "outcome_paths" in include:
        linked["outcome_paths"] = [outcome_path_json(o) for o in view.outcomes]
    if "users" in include:
        linked["users"] = [linked_user_json(u) for u in users]
    return {**document, "linked": linked}
