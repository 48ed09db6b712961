"""Signing in with a read token (a session cookie, HttpOnly, SameSite=Strict) and out
(a form carrying the session's CSRF token)."""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from replay.service.access import AccessService
from replay.web.rendering import Renderer
from replay.web.security import SESSION_COOKIE, grant_of


class SignIn:
    def __init__(self, access: AccessService, renderer: Renderer, *, secure_cookies: bool) -> None:
        self.access = access
        self.secure_cookies = secure_cookies
        self.render = renderer.render
        self.error_page = renderer.error_page

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

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
