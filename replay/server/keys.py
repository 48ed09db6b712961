"""Signed live events: RS256 JWTs checked against Instructure's JWKS, on receipt.

The keys rotate monthly (the set holds the previous, current and next key) and old
ones disappear, so a signature can only be checked when the POST arrives. The set is
fetched with PyJWT's PyJWKClient (blocking urllib) in a worker thread, never on the
event loop: at start, when it is older than `refresh_seconds`, and when a token names
a `kid` the set does not hold, at most once per `cooldown_seconds` (an unknown kid
from a stranger must not turn into a fetch per request). One fetch at a time; those
who wait for it share its result.

Only RS256 is accepted, whatever the token's header says (no `none`, no HS256 with
the public key as its secret), and only against RSA keys of the set. The issuer is
checked when one is configured; `exp` is checked when present, with a leeway that
covers Canvas's retries (up to 20 minutes).

The token is taken apart here (`compact_parts`) and its signature checked by PyJWT's
RSAAlgorithm, in a small thread pool (OpenSSL releases the GIL, so it uses the
second core while the loop parses HTTP).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from jwt import PyJWK, PyJWKClient
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger("mastery.keys")

CANVAS_JWKS_URL = "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks"
CANVAS_ISSUER = "https://live-events.canvas.instructure.com"
ALGORITHM = "RS256"
EXP_LEEWAY_SECONDS = 3600.0

VERIFY_THREADS_ENV = "MASTERY_VERIFY_THREADS"
"""Threads checking signatures (default 2; 0: on the event loop, for comparison)."""

_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
_COMPACT_JWT = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def looks_like_jwt(body: bytes) -> bool:
    """Three base64url segments: a compact JWS (whatever it turns out to hold)."""
    return _COMPACT_JWT.fullmatch(body) is not None


@dataclass(frozen=True, slots=True)
class CompactParts:
    """A compact JWS taken apart: its header decoded, the rest as the signature covers it."""

    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes


def _base64url(segment: bytes, name: str) -> bytes:
    """Unpadded base64url (RFC 7515), strictly: the alphabet is checked by the pattern."""
    if len(segment) % 4 == 1:
        raise Refused("malformed-token", f"the {name} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    except binascii.Error:
        raise Refused("malformed-token", f"the {name} is not base64url") from None


def compact_parts(token: bytes) -> CompactParts:
    """The parts of a compact JWS, or Refused("malformed-token").

    PyJWT does this too, but it checks each character of every segment in a Python
    loop, and ran it twice per token (for the header, then to verify): at saturation
    that was most of a signature's cost on the interpreter lock. Here the alphabet is
    checked by one regular expression and the signature by PyJWT's own RSAAlgorithm.
    """
    if not looks_like_jwt(token):
        raise Refused("malformed-token", "not a compact JWS (three base64url segments)")
    header_segment, payload, signature = token.split(b".")
    try:
        header = orjson.loads(_base64url(header_segment, "header"))
    except orjson.JSONDecodeError:
        raise Refused("malformed-token", "the header is not JSON") from None
    if not isinstance(header, dict):
        raise Refused("malformed-token", "the header is not a JSON object")
    return CompactParts(
        header=header,
        signing_input=header_segment + b"." + payload,
        payload=payload,
        signature=_base64url(signature, "signature"),
    )


class Refused(Exception):
    """The token is not authentic; `why` is a short code for counters and logs."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"{why}: {detail}" if detail else why)
        self.why = why


@dataclass(frozen=True, slots=True)
class Verified:
    """What a good signature gives: the claims (None when the signed payload is not a
    JSON object: authentic but unusable) and the key that signed them."""

    claims: dict[str, Any] | None
    kid: str

    @property
    def note(self) -> str:
        return f"signed {ALGORITHM} kid={self.kid}"


class KeySet:
    """The JWKS, cached, refreshed off the event loop."""

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None = None,
        refresh_seconds: float = 3600.0,
        cooldown_seconds: float = 30.0,
        fetch_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.issuer = issuer
        self.refresh_seconds = refresh_seconds
        self.cooldown_seconds = cooldown_seconds
        self._client = PyJWKClient(
            url, cache_jwk_set=False, cache_keys=False, timeout=fetch_timeout
        )
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._lock: asyncio.Lock | None = None
        self.fetches = 0
        self.last_error: str | None = None
        threads = int(os.environ.get(VERIFY_THREADS_ENV) or 2)
        self._verifier = (
            ThreadPoolExecutor(threads, thread_name_prefix="mastery-verify") if threads else None
        )

    def close(self) -> None:
        if self._verifier is not None:
            self._verifier.shutdown(wait=False)

    @property
    def kids(self) -> list[str]:
        return sorted(self._keys)

    async def refresh(self) -> None:
        """Fetch the set now (in a thread); on failure keep the keys we had."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = time.monotonic()
        async with self._lock:
            if self._tried_at is not None and self._tried_at >= started:
                return  # someone fetched while we waited: use theirs
            self._tried_at = time.monotonic()
            self.fetches += 1
            try:
                jwk_set = await asyncio.to_thread(self._client.get_jwk_set, True)
            except Exception as error:  # PyJWKClientError, PyJWKSetError, ...
                self.last_error = " ".join(str(error).split()) or type(error).__name__
                log.warning("could not fetch the JWKS at %s: %s", self.url, self.last_error)
                return
            keys = {}
            for key in jwk_set.keys:
                if key.key_id and key.key_type == "RSA":
                    keys[key.key_id] = key
            self._keys = keys
            self._fetched_at = time.monotonic()
            self.last_error = None
            log.info("JWKS fetched: kids %s", ", ".join(sorted(keys)) or "(none)")

    async def key_for(self, kid: str) -> PyJWK | None:
        now = time.monotonic()
        stale = self._fetched_at is None or now - self._fetched_at >= self.refresh_seconds
        pause = min(self.cooldown_seconds, self.refresh_seconds)
        if stale and (self._tried_at is None or now - self._tried_at >= pause):
            await self.refresh()
        key = self._keys.get(kid)
        if key is None and (
            self._tried_at is None or time.monotonic() - self._tried_at >= self.cooldown_seconds
        ):
            await self.refresh()
            key = self._keys.get(kid)
        return key

    async def verify(self, token: bytes) -> Verified:
        """The claims of a token signed RS256 by a key of the set, or Refused."""
        token_parts = compact_parts(token)
        alg = token_parts.header.get("alg")
        if alg != ALGORITHM:
            raise Refused("wrong-algorithm", f"alg {alg!r}; only {ALGORITHM} is accepted")
        kid = token_parts.header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Refused("missing-kid", "the token's header names no key")
        if "crit" in token_parts.header or token_parts.header.get("b64") is False:
            raise Refused("malformed-token", "the header asks for extensions (crit, b64)")
        key = await self.key_for(kid)
        if key is None:
            raise Refused("unknown-kid", f"no key {kid!r} in the JWKS")
        if self._verifier is None:
            return self._verify_with(token_parts, key, kid)
        return await asyncio.get_running_loop().run_in_executor(
            self._verifier, self._verify_with, token_parts, key, kid
        )

    def _verify_with(self, token_parts: CompactParts, key: PyJWK, kid: str) -> Verified:
        if not _RS256.verify(token_parts.signing_input, key.key, token_parts.signature):
            raise Refused("bad-signature", f"the signature does not verify with key {kid!r}")
        try:
            claims = orjson.loads(_base64url(token_parts.payload, "payload"))
        except orjson.JSONDecodeError:
            claims = None
        if not isinstance(claims, dict):
            claims = None
        self._check_claims(claims)
        return Verified(claims, kid)

    def _check_claims(self, claims: dict[str, Any] | None) -> None:
        if self.issuer is not None:
            issuer = claims.get("iss") if claims is not None else None
            if issuer != self.issuer:
                raise Refused("wrong-issuer", f"issuer {issuer!r}, expected {self.issuer!r}")
        if claims is not None:
            expires = claims.get("exp")
            if (
                isinstance(expires, int | float)
                and not isinstance(expires, bool)
                and expires + EXP_LEEWAY_SECONDS < time.time()
            ):
                raise Refused("expired", "the token expired over an hour ago")
