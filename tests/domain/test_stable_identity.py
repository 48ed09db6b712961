"""Identities that every stored event depends on, pinned to literal values.

An aggregate's id and a delivery's fingerprint are written into the log. A later
version that computed either differently would no longer find the aggregates of a
store written before it, or would store a redelivered event a second time. So they
are compared here with literals recorded once, and with their definitions worked by
hand (RFC 4122's name-based UUID; BLAKE2b of the canonical form), not with
themselves.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from domain.aggregates import AGGREGATE_CLASSES, Outcome, Result
from domain.events import CanvasEvent, EntityKind, fingerprint_of, parse_event
from domain.ids import AGGREGATE_NAMESPACE, aggregate_id, aggregate_id_bytes
from tests.conftest import NOW

PINNED_IDS = [
    ("21070000000000001", "outcome", "12345", "38a15e95-72ea-5922-8072-a86aa7010f26"),
    ("21070000000000001", "result", "987654", "095ede9b-09ef-5609-ad9e-a0f7d5217a51"),
    ("1", "outcome_group", "7", "2da3e84d-d99b-5503-921f-99daa56ffd69"),
    ("1", "link", "12345678", "1602f3b6-32e6-529a-8505-410b4834a951"),
    ("21070000000000001", "proficiency", "1", "e426dfe3-0b29-59f4-aaad-fd54cc2fc7b5"),
    ("21070000000000001", "calculation_method", "3", "0b6c1227-05da-521d-9691-7bca57cc07c0"),
    ("unknown", "result", "legacy-0123456789abcdef0123", "15af5e7f-77a0-5d42-b940-05204d5db120"),
]


def parsed(envelope: dict[str, Any]) -> CanvasEvent:
    event = parse_event(envelope, now=NOW)
    assert isinstance(event, CanvasEvent), event
    return event


def rfc4122_name_based_sha1(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """RFC 4122 section 4.3, by hand: SHA-1 of namespace bytes and name, version 5."""
    digest = bytearray(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return uuid.UUID(bytes=bytes(digest))


def test_the_aggregate_namespace_never_changes() -> None:
    assert uuid.UUID("6f0c0f6e-5d5b-4a0e-9a53-3c1c2f7c1a10") == AGGREGATE_NAMESPACE


@pytest.mark.parametrize(("root_account", "kind", "canvas_id", "expected"), PINNED_IDS)
def test_an_aggregate_id_is_the_same_literal_uuid_in_every_version(
    root_account: str, kind: str, canvas_id: str, expected: str
) -> None:
    assert aggregate_id(root_account, kind, canvas_id) == uuid.UUID(expected)
    assert aggregate_id_bytes(root_account, kind, canvas_id) == uuid.UUID(expected).bytes
    name = f"{root_account}/{kind}/{canvas_id}"
    assert rfc4122_name_based_sha1(AGGREGATE_NAMESPACE, name) == uuid.UUID(expected)


def test_each_kind_of_aggregate_is_keyed_by_its_own_kind_name() -> None:
    assert {kind: cls.kind.value for kind, cls in AGGREGATE_CLASSES.items()} == {
        EntityKind.OUTCOME: "outcome",
        EntityKind.OUTCOME_GROUP: "outcome_group",
        EntityKind.LINK: "link",
        EntityKind.RESULT: "result",
        EntityKind.PROFICIENCY: "proficiency",
        EntityKind.CALCULATION_METHOD: "calculation_method",
    }
    assert Outcome.id_for("21070000000000001", "12345") == uuid.UUID(PINNED_IDS[0][3])


def test_the_reference_result_event_keys_its_pinned_aggregate(payload: Any) -> None:
    """Canvas's documented `learning_outcome_result_created`: root account
    21070000000000001, result id 1."""
    event = parsed(payload("learning_outcome_result_created"))
    assert (event.root_account, event.entity_id) == ("21070000000000001", "1")
    expected = uuid.UUID("ebb4de16-971a-5e04-83b2-362ef29d9435")
    assert Result.id_for(event.root_account, event.entity_id) == expected
    assert rfc4122_name_based_sha1(AGGREGATE_NAMESPACE, "21070000000000001/result/1") == expected


def test_the_fingerprint_is_blake2b_of_name_time_and_the_body_with_sorted_keys() -> None:
    body = {"score": 3.0, "id": "5", "zeta": {"b": 1, "a": [2, 1]}}
    canonical = (
        b"learning_outcome_result_updated\x00"
        b"2024-03-01T10:00:00.000Z\x00"
        b'{"id":"5","score":3.0,"zeta":{"a":[2,1],"b":1}}'
    )
    by_hand = hashlib.blake2b(canonical, digest_size=16).hexdigest()
    assert by_hand == "672f1abb4be17860ddc9b686df399b80"
    fingerprint = fingerprint_of(
        "learning_outcome_result_updated", "2024-03-01T10:00:00.000Z", body
    )
    assert fingerprint == by_hand


def test_the_fingerprint_does_not_depend_on_the_order_of_the_body_keys() -> None:
    one = {"score": 3.0, "id": "5", "zeta": {"b": 1, "a": 2}}
    other = {"zeta": {"a": 2, "b": 1}, "id": "5", "score": 3.0}
    time = "2024-03-01T10:00:00.000Z"
    assert fingerprint_of("x", time, one) == fingerprint_of("x", time, other)


def test_the_reference_result_event_has_its_pinned_fingerprint(payload: Any) -> None:
    """A store deduplicates by fingerprint across versions: a change to what is hashed
    (the canonical time, which fields the body keeps) would store redeliveries twice."""
    event = parsed(payload("learning_outcome_result_created"))
    assert event.fingerprint == "7ea13d55f6ea388b1ce1da1faf3da2fa"


def test_one_event_with_unknown_fields_in_another_order_is_stored_once(payload: Any) -> None:
    """Canvas adds fields to its events; a redelivery may serialise them in another order."""
    first = payload("learning_outcome_result_created")
    first["body"]["new_field_z"] = "z"
    first["body"]["new_field_a"] = {"y": 1, "x": 2}
    again = payload("learning_outcome_result_created")
    again["body"]["new_field_a"] = {"x": 2, "y": 1}
    again["body"]["new_field_z"] = "z"
    one, other = parsed(first), parsed(again)
    assert one.fingerprint == other.fingerprint
    aggregate = Result.first_seen(one, NOW)
    assert aggregate.record(other, NOW) is False
    assert len(aggregate.timeline) == 1


@pytest.mark.parametrize(
    "canvas_id", ["0", "21070000000000001", "legacy-ü", "ﬁ/∂", "x" * 300, "", "a\u0000b"]
)
def test_the_id_bytes_the_parsing_worker_ships_are_uuid5s(canvas_id: str) -> None:
    """`aggregate_id_bytes` writes uuid5 out (the worker ships its bytes): the same for any
    name, non-ASCII included, and the same as the aggregate class gives."""
    for kind, cls in AGGREGATE_CLASSES.items():
        expected = uuid.uuid5(AGGREGATE_NAMESPACE, f"21070000000000001/{kind.value}/{canvas_id}")
        assert aggregate_id_bytes("21070000000000001", kind.value, canvas_id) == expected.bytes
        assert cls.id_bytes_for("21070000000000001", canvas_id) == expected.bytes
        assert cls.id_for("21070000000000001", canvas_id) == expected
