"""The read side over HTTP: the API and the web view, one Starlette application.

    from replay.service import MasteryService
    from replay.web import create_web_app

    app = create_web_app(MasteryService.open("demo-store"), secure_cookies=False)
    # uvicorn.run(app, host="127.0.0.1", port=8000)

Service errors become statuses here, in one place: BadQuestion 400, NotFound 404,
StoreUnavailable 503, each with its message (JSON for the API, a page in the web
view's style for a browser); anything unexpected is a 500 with no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from replay.service import BadQuestion, MasteryService, NotFound, ServiceError, StoreUnavailable
from replay.service.access import AccessService
from replay.web.api import Api, json_response
from replay.web.cache import FactsCache
from replay.web.pages import STATIC, Pages
from replay.web.security import (
    ASGIApp,
    Authentication,
    Message,
    Receive,
    Scope,
    SecurityHeaders,
    Send,
)

log = logging.getLogger("mastery.web")

STATUSES: dict[type[ServiceError], int] = {
    BadQuestion: 400,
    NotFound: 404,
    StoreUnavailable: 503,
}
TITLES = {
    400: "That question cannot be asked",
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    503: "The store cannot be reached",
    500: "Something went wrong",
}


def status_of(error: ServiceError) -> int:
    for kind, status in STATUSES.items():
        if isinstance(error, kind):
            return status
    return 400


def create_web_app(
    mastery: MasteryService,
    *,
    secure_cookies: bool = False,
    access: AccessService | None = None,
) -> Starlette:
    """The API (`/api/v1/...`) and the web view on one store; `secure_cookies` marks the
    session cookie Secure even when TLS ends in a proxy in front of this server."""
    access = access or AccessService.of(mastery)
    cache = FactsCache()
    api = Api(mastery, cache)
    pages = Pages(mastery, access, secure_cookies=secure_cookies, cache=cache)

    def answer(request: Request, status: int, message: str) -> Response:
        # the service names the command line's options; here they are parameters
        for option in ("--as-of", "--known-at", "--since", "--until", "--by"):
            message = message.replace(option, option[2:].replace("-", "_"))
        if request.url.path.startswith("/api/"):
            return json_response({"error": message, "status": status}, status)
        fragment = request.headers.get("x-fragment") == "1"
        return pages.error_page(
            request, status, TITLES.get(status, "Error"), message, fragment=fragment
        )

    async def service_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ServiceError)
        return answer(request, status_of(error), str(error))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        response = answer(request, error.status_code, str(error.detail))
        if error.headers:
            response.headers.update(error.headers)
        return response

    def unexpected(request: Request) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return answer(request, 500, "The server met an error it did not expect; it is logged.")

    return Starlette(
        routes=[
            *api.routes(),
            *pages.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(Guard, answer=unexpected),
            Middleware(Authentication, access=access),
        ],
        exception_handlers={
            ServiceError: service_error,
            HTTPException: http_error,
        },
    )


class Guard:
    """An error nothing else answered: a 500 page (or JSON) in the house style, inside
    the security headers, never a traceback."""

    def __init__(self, app: ASGIApp, answer: Callable[[Request], Response]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                raise
            response = self.answer(Request(scope))
            await response(scope, receive, send)
