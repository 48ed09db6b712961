"""The wrappers a live event arrives in, taken off: plain JSON, SQS archives, JWTs.

The careful path of the dump reader (replay/ingest/sources.py), for bytes that the fast
`orjson.loads` attempt could not take or that held no "metadata": each returns the
event, or a Rejection that says what was wrong, and which wrapper was found.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from domain.rejections import Rejection

Decoded = tuple[dict[str, Any] | None, Rejection | None, str | None]
"""(the event or None, why not, the wrapper found: "sqs", "jwt", "sqs+jwt" or None)"""

# The header of a JWT is base64url of a JSON object, so it always starts with "e"
# (from "{"); requiring that keeps dotted junk such as "1.2.3" reported as not-json.
_JWT = re.compile(rb"e[A-Za-z0-9_-]*=*\.[A-Za-z0-9_-]+=*\.[A-Za-z0-9_-]*=*")


_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number"}
_KINDS |= {bool: "a boolean", type(None): "null", dict: "an object"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _not_json(data: bytes, exc: Exception) -> Rejection:
    """orjson reports bad UTF-8 vaguely; say at which byte, since that hints at the encoding."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Rejection(
            "invalid-utf8",
            f"byte {err.start + 1} (0x{data[err.start]:02x}) is not valid UTF-8: {err.reason}",
        )
    return Rejection("not-json", str(exc))


def _b64url(segment: bytes) -> bytes:
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def _decode_jwt(token: bytes) -> tuple[dict[str, Any] | None, str]:
    """Read the claims without checking the signature: the JWKS keys rotate monthly, so
    verification belongs to whoever received the POST (a later step), not to a replay."""
    header_part, payload_part, _signature = token.split(b".")
    try:  # _JWT makes it start with "{" once decoded, so JSON here is an object
        orjson.loads(_b64url(header_part))
    except ValueError as exc:
        return None, f"the JWT header is not base64url-encoded JSON: {exc}"
    try:
        payload = _b64url(payload_part)
    except binascii.Error as exc:
        return None, f"the JWT payload is not valid base64url: {exc}"
    try:
        claims = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return None, f"the JWT payload is not JSON: {exc}"
    if type(claims) is not dict:
        return None, f"the JWT claims are {_kind(claims)}, not an object"
    return claims, ""


def _decode_sqs_body(body: str) -> Decoded:
    data = body.encode().strip()  # orjson refuses lone surrogates, so this cannot fail
    if _JWT.fullmatch(data):
        claims, why = _decode_jwt(data)
        if claims is None:
            why = f"the SQS Body holds a bad JWT: {why}"
            return None, Rejection("bad-sqs-body", why), "sqs+jwt"
        return claims, None, "sqs+jwt"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return None, Rejection("bad-sqs-body", f"the SQS Body is not JSON: {exc}"), "sqs"
    if type(value) is not dict:
        detail = f"the SQS Body holds {_kind(value)}, not an event object"
        return None, Rejection("bad-sqs-body", detail), "sqs"
    return value, None, "sqs"


def from_value(value: Any) -> Decoded:
    """Classify a decoded JSON value; an object without "metadata" may be an SQS message."""
    if type(value) is not dict:
        detail = f"the JSON value is {_kind(value)}, not an event object"
        return None, Rejection("not-an-object", detail), None
    if "metadata" not in value:
        body = value.get("Body")
        if not isinstance(body, str):
            body = value.get("body")
        if isinstance(body, str):
            return _decode_sqs_body(body)
    return value, None, None


def decode_bytes(data: bytes) -> Decoded | None:
    """The careful path for bytes the fast attempt could not take; None means blank."""
    data = data.strip()
    if not data:
        return None
    if _JWT.fullmatch(data):
        claims, why = _decode_jwt(data)
        if claims is None:
            return None, Rejection("bad-jwt", why), "jwt"
        return claims, None, "jwt"
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return None, _not_json(data, exc), None
    return from_value(value)
