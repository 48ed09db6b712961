"""A corpus of malformed and hostile inputs, each a file of its own.

Each case says what must become of it: the quarantine reasons its lines may get
(`reasons`), or that it is accepted (`ACCEPTED`: stored, or recognised as a
duplicate or another Canvas type). Cases are built from one good reference payload
so that only the one thing that is wrong differs.
"""

from __future__ import annotations

import base64
import copy
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

ACCEPTED = frozenset({"accepted"})
WRONG = frozenset({"wrong-type"})
RANGE = frozenset({"out-of-range"})


@dataclass(frozen=True)
class Case:
    name: str  # also the file name
    content: bytes
    reasons: frozenset[str]  # acceptable quarantine reasons, or ACCEPTED


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _jwt(claims: bytes) -> bytes:
    return b"eyJhbGciOiJSUzI1NiJ9." + _b64(claims) + b".c2ln"


def build_corpus(good: dict[str, Any]) -> list[Case]:
    """At least 40 cases; `good` is a learning_outcome_result_created payload."""
    good_line = orjson.dumps(good)

    def variant(change: Callable[[dict[str, Any]], None]) -> bytes:
        event = copy.deepcopy(good)
        change(event)
        return orjson.dumps(event)

    def body(field: str, value: Any) -> bytes:
        return variant(lambda e: e["body"].__setitem__(field, value))

    def meta(field: str, value: Any) -> bytes:
        return variant(lambda e: e["metadata"].__setitem__(field, value))

    def raw_body_value(field: str, text: bytes) -> bytes:
        """The good line with one body value replaced by raw JSON text (NaN, 1e999...)."""
        marker = b'"__RAW__"'
        return body(field, "__RAW__").replace(marker, text)

    cases: list[tuple[str, bytes, frozenset[str]]] = [
        # Not JSON at all, or cut short.
        ("truncated-object.jsonl", good_line[: len(good_line) // 2], frozenset({"not-json"})),
        ("truncated-string.jsonl", b'{"metadata": {"event_name": "learn', frozenset({"not-json"})),
        ("trailing-garbage.jsonl", good_line + b" }}}", frozenset({"not-json"})),
        ("nan-value.jsonl", raw_body_value("score", b"NaN"), frozenset({"not-json"})),
        ("infinity-value.jsonl", raw_body_value("score", b"Infinity"), frozenset({"not-json"})),
        ("minus-infinity.jsonl", raw_body_value("score", b"-Infinity"), frozenset({"not-json"})),
        (
            "huge-exponent.jsonl",
            raw_body_value("score", b"1e999"),
            frozenset({"not-json", "wrong-type"}) | ACCEPTED,
        ),
        (
            "huge-integer.jsonl",
            raw_body_value("score", b"9" * 400),
            frozenset({"not-json", "wrong-type"}) | ACCEPTED,
        ),
        ("huge-integer-id.jsonl", raw_body_value("id", b"9" * 40), WRONG | {"not-json"}),
        ("deep-array.jsonl", b"[" * 100_000 + b"]" * 100_000, frozenset({"not-json"})),
        (
            "deep-object.jsonl",
            b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
            frozenset({"not-json", "missing-metadata"}),
        ),
        (
            "ten-megabyte-line.jsonl",
            b'{"x": "' + b"a" * 10_000_000 + b'"}',
            frozenset({"line-too-long"}),
        ),
        ("invalid-utf8.jsonl", b'{"metadata": "\xff\xfe"}', frozenset({"invalid-utf8"})),
        (
            "lone-surrogate.jsonl",
            b'{"metadata": "\\ud800"}',
            frozenset({"not-json", "invalid-utf8", "missing-metadata"}),
        ),
        (
            "utf16-text.jsonl",
            good_line.decode().encode("utf-16"),
            frozenset({"not-json", "invalid-utf8", "binary-file"}),
        ),
        ("bom-duplicate.jsonl", b"\xef\xbb\xbf" + good_line, ACCEPTED),
        ("crlf-duplicate.jsonl", good_line + b"\r\n" + good_line + b"\r\n", ACCEPTED),
        ("blank-lines-only.jsonl", b"\n\r\n   \n\t\n", ACCEPTED),
        ("empty.jsonl", b"", ACCEPTED),
        ("empty.json", b"", frozenset({"not-json"}) | ACCEPTED),
        (
            "binary.jsonl",
            bytes(range(256)) * 64,
            frozenset({"binary-file", "not-json", "invalid-utf8"}),
        ),
        (
            "truncated.jsonl.gz",
            gzip.compress(good_line * 50)[:120],
            frozenset({"truncated-gzip"}) | ACCEPTED,
        ),
        ("not-really.json.gz", b"plain text, not gzip", frozenset({"bad-gzip"})),
        (
            "array-bad-members.json",
            b'[{"metadata": 1}, 2, "x", null, [], ' + good_line + b"]",
            frozenset({"missing-metadata", "not-an-object"}) | ACCEPTED,
        ),
        ("array-truncated.json", b"[" + good_line + b", {", frozenset({"not-json"})),
        ("top-level-scalar.jsonl", b"42", frozenset({"not-an-object"})),
        ("top-level-null.jsonl", b"null", frozenset({"not-an-object"})),
        # Wrong types everywhere.
        (
            "metadata-is-list.jsonl",
            variant(lambda e: e.__setitem__("metadata", [])),
            frozenset({"missing-metadata"}),
        ),
        (
            "body-is-string.jsonl",
            variant(lambda e: e.__setitem__("body", "x")),
            frozenset({"missing-body"}),
        ),
        ("event-name-is-number.jsonl", meta("event_name", 7), WRONG),
        (
            "event-time-is-number.jsonl",
            meta("event_time", 1700000000),
            WRONG | {"implausible-event-time"} | ACCEPTED,
        ),
        ("event-time-is-object.jsonl", meta("event_time", {"t": 1}), WRONG),
        ("event-time-nonsense.jsonl", meta("event_time", "2025-13-45T99:99:99Z"), WRONG),
        ("score-is-string.jsonl", body("score", "five"), WRONG),
        ("score-is-list.jsonl", body("score", [5]), WRONG),
        ("attempt-is-object.jsonl", body("attempt", {"n": 1}), WRONG),
        ("root-account-is-list.jsonl", meta("root_account_id", [1]), WRONG),
        # Integers a JSON parser reads and SQLite's signed 64-bit INTEGER cannot hold.
        ("attempt-2-63.jsonl", raw_body_value("attempt", b"9223372036854775808"), RANGE),
        ("attempt-2-64-minus-1.jsonl", raw_body_value("attempt", b"18446744073709551615"), RANGE),
        ("attempt-2-64.jsonl", raw_body_value("attempt", b"18446744073709551616"), RANGE),
        ("attempt-below-int64.jsonl", raw_body_value("attempt", b"-9223372036854775809"), RANGE),
        ("attempt-1e300.jsonl", raw_body_value("attempt", b"1e300"), RANGE),
        ("attempt-int64-max.jsonl", raw_body_value("attempt", b"9223372036854775807"), ACCEPTED),
        ("assessed-at-not-in-utc.jsonl", body("assessed_at", "9999-12-31T23:59:59-23:59"), RANGE),
        # Ids of every odd shape.
        ("id-negative.jsonl", body("id", -5), WRONG),
        ("id-float.jsonl", body("id", 1.5), WRONG),
        ("id-boolean.jsonl", body("id", True), WRONG),
        ("id-empty.jsonl", body("id", "   "), WRONG),
        ("id-object.jsonl", body("id", {"id": 1}), WRONG),
        ("id-too-long.jsonl", body("id", "7" * 300), WRONG),
        ("id-unicode.jsonl", body("id", "\u0661\u0662\u2028x"), WRONG),
        ("id-with-nul.jsonl", body("id", "12\u00003"), WRONG),
        ("id-not-digits.jsonl", body("id", "abc-123"), WRONG),
        ("id-past-64-bits.jsonl", body("id", 2**63), WRONG),
        # Digits that `str.isdigit()` accepts and Canvas never sends: `int()` refuses
        # some ("²") and reads others as ASCII numbers (fullwidth, Arabic-Indic).
        ("id-superscript.jsonl", body("id", "\u00b2"), WRONG),
        ("id-subscript.jsonl", body("id", "1\u2082"), WRONG),
        ("id-fullwidth.jsonl", body("id", "\uff15\uff16\uff15"), WRONG),
        ("id-arabic-indic.jsonl", body("id", "\u0665\u0666\u0665"), WRONG),
        ("id-extended-arabic-indic.jsonl", body("id", "\u06f5\u06f6"), WRONG),
        ("id-devanagari.jsonl", body("id", "\u0967\u0968"), WRONG),
        ("outcome-id-fullwidth.jsonl", body("learning_outcome_id", "\uff11"), WRONG),
        ("context-id-superscript.jsonl", body("result_context_id", "6\u00b9"), WRONG),
        ("root-account-superscript.jsonl", meta("root_account_id", "\u00b2"), WRONG),
        ("root-account-fullwidth.jsonl", meta("root_account_id", "\uff12\uff11"), WRONG),
        ("root-account-arabic-indic.jsonl", meta("root_account_id", "\u0662\u0661"), WRONG),
        ("context-account-superscript.jsonl", meta("context_account_id", "\u00b3"), WRONG),
        ("user-id-fullwidth.jsonl", meta("user_id", "\uff11\uff12"), WRONG),
        ("outcome-id-null.jsonl", body("learning_outcome_id", [None]), WRONG),
        # Times out of range, names unknown.
        (
            "year-1970.jsonl",
            meta("event_time", "1970-01-01T00:00:00Z"),
            frozenset({"implausible-event-time"}),
        ),
        (
            "year-2999.jsonl",
            meta("event_time", "2999-01-01T00:00:00Z"),
            frozenset({"implausible-event-time"}),
        ),
        (
            "year-0001.jsonl",
            meta("event_time", "0001-01-01T00:00:00+14:00"),
            frozenset({"implausible-event-time", "wrong-type"}),
        ),
        ("unknown-event-name.jsonl", meta("event_name", "learning_outcome_exploded"), ACCEPTED),
        ("empty-event-name.jsonl", meta("event_name", ""), ACCEPTED),
        # Wrappers with bad content.
        (
            "sqs-body-not-json.jsonl",
            b'{"MessageId": "1", "Body": "{not json"}',
            frozenset({"bad-sqs-body"}),
        ),
        (
            "sqs-body-number.jsonl",
            b'{"MessageId": "1", "Body": 12}',
            frozenset({"bad-sqs-body", "missing-metadata"}),
        ),
        (
            "sqs-body-array.jsonl",
            orjson.dumps({"Body": "[1,2]"}),
            frozenset({"bad-sqs-body", "not-an-object"}),
        ),
        (
            "sqs-body-nested-bad.jsonl",
            orjson.dumps(
                {
                    "Body": orjson.dumps(
                        {"metadata": {"event_name": "learning_outcome_result_created"}}
                    ).decode()
                }
            ),
            frozenset({"missing-event-time"}),
        ),
        (
            "jwt-two-segments.jsonl",
            b"eyJhbGciOiJSUzI1NiJ9." + _b64(good_line),
            frozenset({"bad-jwt", "not-json"}),
        ),
        (
            "jwt-bad-base64.jsonl",
            b"eyJhbGciOiJSUzI1NiJ9.!!!!.c2ln",
            frozenset({"bad-jwt", "not-json"}),
        ),
        ("jwt-claims-array.jsonl", _jwt(b"[1,2]"), frozenset({"bad-jwt"})),
        ("jwt-claims-not-utf8.jsonl", _jwt(b"{\xff}"), frozenset({"bad-jwt"})),
        (
            "jwt-claims-missing-body.jsonl",
            _jwt(orjson.dumps({"metadata": good["metadata"]})),
            frozenset({"missing-body"}),
        ),
    ]
    return [Case(name, content, reasons) for name, content, reasons in cases]
