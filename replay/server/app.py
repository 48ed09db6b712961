"""The HTTP front door for Canvas live events: `POST /events`, health, readiness, metrics.

Canvas POSTs one event per request and counts any 2xx as success; a failure is
retried 3 times over 10-20 minutes, and a subscription with too many failures is
switched off. So the answers are chosen for what a retry can do:

- 200: the event is committed to the log, or is a duplicate, or not a Learning
  event, or is authentic but unusable (quarantined with the replay's reason: a retry
  cannot fix it);
- 401: no valid RS256 signature from the configured JWKS (or the wrong issuer):
  nothing stored, a counter and a log line;
- 413 (over 1,000,000 bytes, refused on its Content-Length or as soon as it passes
  the limit), 408 (a body that does not arrive within the body timeout), 415 (any
  Content-Encoding: Canvas sends none, and decompressing is a bomb's door);
- 503: the store could not commit in time (unreachable, busy, stopping): Canvas
  retries and nothing acknowledged is lost.

The app only verifies and answers; judging and storing is the intake service's
(replay/service/intake.py), on its own writer thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from replay.server.keys import KeySet, Refused, looks_like_jwt
from replay.server.metrics import ServerMetrics
from replay.service import MasteryService
from replay.service.access import AccessService
from replay.service.intake import Delivery, IntakeService, IntakeUnavailable, Verdict
from replay.service.live_follower import LiveFollower
from replay.web.security import bearer

access_log = logging.getLogger("mastery.access")
log = logging.getLogger("mastery.serve")

MAX_BODY_BYTES = 1_000_000
STALLED_COMMIT_SECONDS = 5.0
"""A group commit takes milliseconds; one waiting longer means the store is not
answering (readiness fails before the answers turn to 503)."""


@dataclass(frozen=True)
class ServerSettings:
    mastery: MasteryService
    intake: bool = True
    """POST /events; False: a reporting machine that serves reading only."""
    read_side: bool = True
    """The API and the web view (replay/web), beside the intake."""
    secure_cookies: bool = False
    """Mark the session cookie Secure although TLS ends in a proxy in front."""
    jwks_url: str | None = None
    issuer: str | None = None
    accept_unsigned: bool = False
    keep_request_metadata: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = 10.0
    answer_deadline: float = 10.0
    """Canvas gives up after 15 s: answer 503 before that, and it retries."""
    jwks_refresh_seconds: float = 3600.0
    jwks_cooldown_seconds: float = 30.0
    max_batch: int = 500
    max_wait: float = 0.005
    follow: bool = True
    follow_poll_seconds: float = 0.2
    follow_in_process: bool = False
    """The follower in a thread of this process instead of a child process (tests)."""
    max_lag_seconds: float = 30.0


class ConfigurationError(Exception):
    """The server cannot start as configured; the message says why."""


def check_settings(*, jwks_url: str | None, accept_unsigned: bool, intake: bool = True) -> None:
    if intake and jwks_url is None and not accept_unsigned:
        raise ConfigurationError(
            "refusing to start: without --jwks-url anyone who can reach the port could "
            "write to the log. Give --jwks-url (Canvas's is "
            "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks, with Sign "
            "Payload on in the subscription), or --accept-unsigned on a private network, "
            "or --no-intake to serve reading only"
        )


class _Answer(Exception):
    def __init__(self, status: int, error: str, **fields: Any) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.fields = fields


class LiveEventsApp:
    """The state behind the routes; `app` is the ASGI application."""

    def __init__(self, settings: ServerSettings) -> None:
        check_settings(
            jwks_url=settings.jwks_url,
            accept_unsigned=settings.accept_unsigned,
            intake=settings.intake,
        )
        self.settings = settings
        self.metrics = ServerMetrics()
        self.keys = (
            KeySet(
                settings.jwks_url,
                issuer=settings.issuer,
                refresh_seconds=settings.jwks_refresh_seconds,
                cooldown_seconds=settings.jwks_cooldown_seconds,
            )
            if settings.jwks_url is not None
            else None
        )
        self.access = AccessService.of(settings.mastery)
        self.intake = IntakeService(
            settings.mastery.store,
            keep_request_metadata=settings.keep_request_metadata,
            max_batch=settings.max_batch,
            max_wait=settings.max_wait,
            on_commit=self.metrics.on_commit,
            on_verdict=self.metrics.on_verdict,
        )
        self.follower = LiveFollower(
            settings.mastery.store,
            poll_interval=settings.follow_poll_seconds,
            in_process=settings.follow_in_process,
        )
        routes: list[BaseRoute] = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", self.metrics_page, methods=["GET"]),
        ]
        if settings.intake:
            routes.append(Route("/events", self.events, methods=["POST"]))
            routes.append(Route("/events", self.not_allowed, methods=["GET", "PUT", "DELETE"]))
        if settings.read_side:
            from replay.web import create_web_app

            web = create_web_app(
                settings.mastery, secure_cookies=settings.secure_cookies, access=self.access
            )
            routes.append(Mount("", app=web))
        self.app = Starlette(routes=routes, lifespan=self.lifespan)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        if self.settings.intake:
            await asyncio.to_thread(self.intake.start)
        if self.settings.follow:
            self.follower.start()
        if self.keys is not None:
            await self.keys.refresh()
        log.info(
            "%s %s",
            "receiving live events for" if self.settings.intake else "serving (no intake)",
            self.settings.mastery.location,
        )
        try:
            yield
        finally:
            # uvicorn has stopped accepting and waited for the requests in flight:
            # commit whatever is still queued, then let the follower apply it.
            if self.settings.intake:
                await asyncio.to_thread(self.intake.close)
            await asyncio.to_thread(self.follower.stop)
            if self.keys is not None:
                self.keys.close()
            counts = self.intake.counts
            log.info(
                "stopped: %d received, %d appended, %d duplicates, %d not learning, %d quarantined",
                counts.received,
                counts.appended,
                counts.duplicates,
                counts.not_learning,
                sum(counts.quarantined.values()),
            )

    # -- POST /events -----------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        started = time.perf_counter()
        record: dict[str, Any] = {}
        try:
            verdict = await self._receive(request, record)
            status = 200
            payload: dict[str, Any] = {"outcome": verdict.outcome}
            if verdict.event_name:
                payload["event_name"] = verdict.event_name
            if verdict.reason:
                payload["reason"] = verdict.reason
            record.update(outcome=verdict.outcome, reason=verdict.reason)
        except _Answer as answer:
            status, payload = answer.status, {"error": answer.error, **answer.fields}
            record.update(error=answer.error, **answer.fields)
        elapsed = time.perf_counter() - started
        self.metrics.latency.observe(elapsed)
        self.metrics.answers.labels("/events", str(status)).inc()
        self._access(request, status, elapsed, record)
        headers = {"Retry-After": "30"} if status == 503 else None
        return JSONResponse(payload, status_code=status, headers=headers)

    async def not_allowed(self, _request: Request) -> Response:
        """Only POST reaches the intake (and not the read side mounted beside it)."""
        return JSONResponse({"error": "method-not-allowed"}, 405, headers={"Allow": "POST"})

    async def _receive(self, request: Request, record: dict[str, Any]) -> Verdict:
        body = (await self._body(request, record)).strip()
        if (
            not looks_like_jwt(body)
            and not self.settings.accept_unsigned
            and bearer(request.headers.raw)
        ):
            delivery = self._by_ingest_token(request, body, record)
        else:
            delivery = await self._verify(body, record)
        future = self.intake.submit(delivery)
        try:
            return await asyncio.wait_for(
                asyncio.wrap_future(future), timeout=self.settings.answer_deadline
            )
        except TimeoutError:
            raise _Answer(503, "store-busy") from None
        except IntakeUnavailable:
            raise _Answer(503, "store-unavailable") from None

    async def _body(self, request: Request, record: dict[str, Any]) -> bytes:
        limit = self.settings.max_body_bytes
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Answer(415, "content-encoding-not-accepted")
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isascii() or not declared.isdigit():
                raise _Answer(400, "bad-content-length")
            if int(declared) > limit:
                raise _Answer(413, "body-too-large")
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.settings.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise _Answer(413, "body-too-large")
                    chunks.append(chunk)
        except TimeoutError:
            raise _Answer(408, "body-timeout") from None
        except ClientDisconnect:
            raise _Answer(400, "client-disconnected") from None
        record["bytes"] = size
        return b"".join(chunks)

    async def _verify(self, body: bytes, record: dict[str, Any]) -> Delivery:
        if self.keys is not None and (looks_like_jwt(body) or not self.settings.accept_unsigned):
            if not looks_like_jwt(body):
                self.metrics.refused.labels("unsigned").inc()
                raise _Answer(401, "signature-required", why="unsigned")
            try:
                verified = await self.keys.verify(body)
            except Refused as refused:
                self.metrics.refused.labels(refused.why).inc()
                raise _Answer(401, "signature-refused", why=refused.why) from None
            record["verified"] = verified.note
            return Delivery(body, verified.note, verified.claims)
        record["verified"] = "unsigned"
        return Delivery(body, "unsigned")

    def _by_ingest_token(self, request: Request, body: bytes, record: dict[str, Any]) -> Delivery:
        """Unsigned JSON from a backfill tool that presents an ingest token (never logged)."""
        token = bearer(request.headers.raw)
        if token is None:
            self.metrics.refused.labels("unsigned").inc()
            raise _Answer(401, "signature-required", why="unsigned")
        grant = self.access.authenticate(token)
        if grant is None:
            self.metrics.refused.labels("unknown-token").inc()
            raise _Answer(401, "token-refused", why="unknown-token")
        if grant.scope != "ingest":
            raise _Answer(403, "token-scope", why=f"a {grant.scope} token cannot post events")
        note = f"unsigned, ingest token {grant.name}"
        record["verified"] = note
        return Delivery(body, note)

    def _access(
        self, request: Request, status: int, elapsed: float, record: dict[str, Any]
    ) -> None:
        """One JSON line per POST: no body, no event content, no personal data."""
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "ms": round(elapsed * 1000, 2),
            **{key: value for key, value in record.items() if value is not None},
        }
        access_log.info(orjson.dumps(entry).decode())

    # -- operations ------------------------------------------------------------------

    async def healthz(self, _request: Request) -> Response:
        self.metrics.answers.labels("/healthz", "200").inc()
        return JSONResponse({"status": "alive"})

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        problems: list[str] = []
        intake = self.intake
        if self.settings.intake and not intake.accepting:
            problems.append("the intake is not accepting")
        if self.settings.intake and not intake.last_commit_ok:
            problems.append(f"the last commit failed: {intake.last_error}")
        stalled = intake.commit_stalled()
        if self.settings.intake and stalled > STALLED_COMMIT_SECONDS:
            problems.append(f"a commit has been waiting {stalled:.1f} s for the store")
        lag = self.follower.lag
        report: dict[str, Any] = {"lag": lag.as_dict() if lag is not None else None}
        if self.settings.follow:
            if self.follower.error and (lag is None or lag.state == "following"):
                problems.append(f"the follower: {self.follower.error}")
            if lag is None:
                problems.append("the follower has not reported yet")
            elif lag.state != "following":
                problems.append(f"the follower cannot read the log: {lag.error}")
            elif lag.seconds > self.settings.max_lag_seconds:
                problems.append(f"the read models are {lag.seconds:.1f} s behind the log")
        report["problems"] = problems
        report["status"] = "ready" if not problems else "not-ready"
        return not problems, report

    async def readyz(self, _request: Request) -> Response:
        ready, report = self.readiness()
        status = 200 if ready else 503
        self.metrics.answers.labels("/readyz", str(status)).inc()
        return JSONResponse(report, status_code=status)

    async def metrics_page(self, _request: Request) -> Response:
        lag = self.follower.lag
        if lag is not None:
            self.metrics.lag_events.set(lag.events)
            self.metrics.lag_seconds.set(lag.seconds)
        self.metrics.answers.labels("/metrics", "200").inc()
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)
