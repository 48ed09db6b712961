"""Fuzzing the event parser and the dump reader: whatever comes in, they never raise.

Every input ends as an event, a skipped other-type event, or a rejection with a
reason and a sentence. Budgets are small (a few hundred examples, well under a
second each) so that CI can afford them on every run; the strategies aim at the
edges (real field names, values of every JSON type, mutated good lines) rather than
at random noise that fails on the first byte.
"""

from __future__ import annotations

import copy
import gzip
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.events import EVENT_TYPES, CanvasEvent, NotLearning, parse_event
from domain.rejections import Rejection
from replay.ingest.sources import DumpReader
from tests.conftest import NOW

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    # what orjson.loads can give: beyond these, JSON integers come back as floats
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            " ",
            "1",
            "-1",
            "0x1f",
            "2025-03-01T10:00:00Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "\x00",
            "NaN",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = sorted(
    {
        "id",
        "score",
        "percent",
        "possible",
        "attempt",
        "mastery",
        "ratings",
        "calculation_int",
        "calculation_method",
        "rubric_criterion",
        "workflow_state",
        "user_uuid",
        "context_id",
        "context_type",
        "outcome_proficiency_ratings",
        "parent_outcome_group_id",
        "assessed_at",
        "learning_outcome_id",
        "learning_outcome_group_id",
        "learning_outcome_link_id",
        "outcome_proficiency_id",
        "outcome_calculation_method_id",
        "result_context_id",
    }
)
META_NAMES = [
    "event_name",
    "event_time",
    "root_account_id",
    "root_account_uuid",
    "context_account_id",
    "context_id",
    "job_id",
    "user_id",
    "producer",
]


def judged(result: object) -> None:
    assert isinstance(result, CanvasEvent | NotLearning | Rejection), result
    if isinstance(result, Rejection):
        assert result.reason and result.detail
    if isinstance(result, CanvasEvent):
        assert result.entity_id and result.root_account and result.fingerprint


@FUZZ
@given(envelope=json_values)
def test_parse_event_never_raises_on_any_json_value(envelope: Any) -> None:
    if isinstance(envelope, dict):
        judged(parse_event(envelope, now=NOW))


@FUZZ
@given(
    name=st.sampled_from(sorted(EVENT_TYPES)),
    body_changes=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=4),
    meta_changes=st.dictionaries(st.sampled_from(META_NAMES[1:]), json_values, max_size=3),
    data=st.data(),
)
def test_parse_event_never_raises_on_a_real_event_with_fields_of_any_type(
    reference_payloads_by_name: dict[str, Any],
    name: str,
    body_changes: dict[str, Any],
    meta_changes: dict[str, Any],
    data: st.DataObject,
) -> None:
    envelope = copy.deepcopy(reference_payloads_by_name[name])
    envelope["body"].update(body_changes)
    envelope["metadata"].update(meta_changes)
    if data.draw(st.booleans()):  # drop some fields too
        for field in data.draw(st.lists(st.sampled_from(sorted(envelope["body"])), max_size=3)):
            envelope["body"].pop(field, None)
    judged(parse_event(envelope, now=NOW, keep_request_metadata=data.draw(st.booleans())))


def records_of(reader: DumpReader) -> Iterator[None]:
    for record in reader:
        assert (record.event is None) != (record.rejection is None), record
        if record.rejection is not None:
            assert record.rejection.reason and record.rejection.detail
        else:
            assert isinstance(record.event, dict)
            judged(parse_event(record.event, now=NOW))
        yield None


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@FUZZ
@given(data=st.binary(max_size=2_000))
def test_the_dump_reader_never_raises_on_arbitrary_bytes_from_stdin(data: bytes) -> None:
    list(records_of(DumpReader(["-"], stdin=io.BytesIO(data), max_line_bytes=512)))


def mutated(good: bytes, data: st.DataObject) -> bytes:
    """A good line with a few bytes replaced, inserted or cut."""
    line = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line)))
        action = data.draw(st.sampled_from(["replace", "insert", "cut"]))
        chunk = data.draw(st.binary(min_size=1, max_size=4))
        if action == "replace":
            line[at : at + len(chunk)] = chunk
        elif action == "insert":
            line[at:at] = chunk
        else:
            del line[at : at + len(chunk)]
    return bytes(line)


@FUZZ
@given(
    kind=st.sampled_from(["jsonl", "json", "jsonl.gz", "json.gz"]),
    data=st.data(),
)
def test_the_dump_reader_never_raises_on_mutated_files_of_every_kind(
    scratch: Path, reference_payloads_by_name: dict[str, Any], kind: str, data: st.DataObject
) -> None:
    payloads = list(reference_payloads_by_name.values())
    good = data.draw(st.sampled_from(payloads))
    lines = [mutated(orjson.dumps(good), data) for _ in range(data.draw(st.integers(1, 3)))]
    content = (
        (b"[" + b",".join(lines) + b"]")
        if kind.startswith("json.") or kind == "json"
        else (b"\n".join(lines))
    )
    if kind.endswith(".gz"):
        content = gzip.compress(content)
        if data.draw(st.booleans()):
            content = mutated(content, data)  # a damaged gzip stream as well
    path = scratch / f"fuzz.{kind}"
    path.write_bytes(content)
    list(records_of(DumpReader([str(path)], max_line_bytes=4096)))
