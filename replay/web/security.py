"""Who may ask what, and the headers every answer carries. Pure ASGI middleware.

* `/api/...` takes `Authorization: Bearer <token>`: none or an unknown one is 401
  (JSON, `WWW-Authenticate: Bearer`), a token of the wrong scope 403. Scopes by
  path: `/api/` needs `read`, `POST /events` needs `ingest` (`SCOPE_RULES`). The
  intake's paths (`INTAKE_PATHS`) take no token by default (Canvas signs its events);
  a token sent there must be valid and of the scope, and the endpoint asks for itself
  with `require_scope(request, "ingest")` when a post is not signed.
* Browser pages take the session cookie made at sign-in (`/login`): without one, a
  GET goes to the login page (303), anything else is 401.
* No state changes on GET: sign-in and sign-out are POSTs; a POST whose `Origin`
  is another site is refused (403), and sign-out also checks the session's form
  token. The cookie is HttpOnly, SameSite=Strict, and Secure when served over TLS.
* Every answer: a Content-Security-Policy allowing only this server's own scripts
  and styles (no inline script, no framing), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin`, and `Cache-Control: no-store` but for static files.

Tokens and session ids never reach a log: they travel in headers and POST bodies,
never in URLs, and nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request

from replay.service.access import AccessService, Grant

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "mastery_session"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PUBLIC_PATHS = ("/login", "/favicon.ico")
INTAKE_PATHS = ("/events", "/healthz", "/readyz", "/metrics")
"""The intake's: Canvas signs its events (the intake verifies them), so no token is
required here; a token that is sent must be valid and of the right scope, and the
endpoint sees its grant (`require_scope` for unsigned backfill posts)."""
PUBLIC_PREFIXES = ("/static/",)
SCOPE_RULES: tuple[tuple[str | None, str, str], ...] = (
    ("POST", "/events", "ingest"),
    (None, "/api/", "read"),
    (None, "/", "read"),
)
"""(method or any, path prefix, scope needed): the first rule that matches decides."""


def needed_scope(method: str, path: str) -> str:
    for rule_method, prefix, scope in SCOPE_RULES:
        if (rule_method is None or rule_method == method) and path.startswith(prefix):
            return scope
    return "read"


def grant_of(request: Request) -> Grant | None:
    grant = request.scope.get("state", {}).get("grant")
    return grant if isinstance(grant, Grant) else None


def require_scope(request: Request, scope: str) -> Grant:
    """The request's grant if it has `scope`; else 401 (no token) or 403 (another scope)."""
    grant = grant_of(request)
    if grant is None:
        raise HTTPException(401, "a token is needed", headers={"WWW-Authenticate": "Bearer"})
    if grant.scope != scope:
        raise HTTPException(403, f"a {grant.scope} token cannot do this: it needs {scope}")
    return grant


def bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def cookie(headers: list[tuple[bytes, bytes]], wanted: str) -> str | None:
    for name, value in headers:
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, found = part.strip().partition("=")
                if key == wanted and found:
                    return found
    return None


def header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


def same_origin(scope: Scope) -> bool:
    """A POST from this site: the browser's `Sec-Fetch-Site` says so, or the `Origin`
    (or `Referer`) names this server; a client that sends neither is not a browser."""
    headers = scope["headers"]
    fetch_site = header(headers, b"sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = header(headers, b"origin") or header(headers, b"referer")
    if origin is None:
        return True
    host = header(headers, b"host")
    return origin != "null" and urlsplit(origin).netloc == host


class SecurityHeaders:
    """Adds the security headers to every answer, whatever made it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"content-security-policy", b"x-content-type-options")
                ]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Authentication:
    """Finds who is asking (bearer token or session cookie) and keeps out who may not."""

    def __init__(self, app: ASGIApp, access: AccessService) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if method not in ("GET", "HEAD", "OPTIONS") and not same_origin(scope):
            await _json(send, 403, "a form of another site cannot post here")
            return
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        if path in INTAKE_PATHS:
            await self._intake(scope, receive, send)
            return
        headers = scope["headers"]
        grant: Grant | None
        api = path.startswith("/api/")
        if api:
            token = bearer(headers)
            grant = self.access.authenticate(token) if token else None
        else:
            session = cookie(headers, SESSION_COOKIE)
            grant = self.access.session(session) if session else None
        if grant is None:
            if api:
                await _json(send, 401, "a token is needed: Authorization: Bearer <token>")
            elif method == "GET":
                target = path + (
                    f"?{scope['query_string'].decode()}" if scope["query_string"] else ""
                )
                await _redirect(send, f"/login?next={quote(target, safe='')}")
            else:
                await _json(send, 401, "sign in first")
            return
        wanted = needed_scope(method, path)
        if grant.scope != wanted:
            await _json(send, 403, f"a {grant.scope} token cannot do this: it needs {wanted}")
            return
        scope.setdefault("state", {})["grant"] = grant
        await self.app(scope, receive, send)

    async def _intake(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Canvas signs its own posts: a token is optional here, but if sent it must be
        known and of the ingest scope (a backfill tool posting unsigned events)."""
        token = bearer(scope["headers"])
        if token is not None:
            grant = self.access.authenticate(token)
            if grant is None:
                await _json(send, 401, "that token is not known (or was revoked)")
                return
            wanted = needed_scope(scope["method"], scope["path"])
            if scope["method"] == "POST" and grant.scope != wanted:
                await _json(send, 403, f"a {grant.scope} token cannot do this: it needs {wanted}")
                return
            scope.setdefault("state", {})["grant"] = grant
        await self.app(scope, receive, send)


async def _json(send: Send, status: int, reason: str) -> None:
    body = orjson.dumps({"error": reason, "status": status})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})
