"""Every field of every Learning event type, given hostile values: stored and projected,
or quarantined with a known reason; never a traceback, in the replay or after it.

The fields are not listed by hand: they are every path of the reference payloads
(`tests/fixtures/reference_payloads.json`) and every field of the payload models, so
that a field added to either is fuzzed too. A whole store is made per example (a
replay, its projections, then questions over it), so the budget is small here and
large in the slow variant.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from domain.events import EVENT_TYPES
from domain.payloads import Metadata
from projections.catchup import open_read_models
from projections.queries import MasteryQueries, MasteryQuestion
from replay.jobs.pipeline import ReplayOptions, open_read_side, run_replay
from replay.store.location import open_store
from tests.replay.helpers import run

README = Path(__file__).parents[2] / "README.md"
REFERENCE = Path(__file__).parents[1] / "fixtures" / "reference_payloads.json"

Path_ = tuple[str | int, ...]

RAW = "__RAW_JSON__"
"""A value written as raw JSON text: integers past 64 bits, which orjson will not dump."""

HOSTILE: list[Any] = [
    "\u00b2",  # superscript two: isdigit() yet int() refuses it
    "\uff15\uff16\uff15",  # fullwidth 565: int() reads 565
    "\u0665\u0666\u0665",  # Arabic-Indic 565
    "1\u00b9",
    (RAW, b"9223372036854775808"),  # 2**63
    (RAW, b"18446744073709551615"),  # 2**64 - 1
    (RAW, b"18446744073709551616"),  # 2**64: a float to orjson
    (RAW, b"-9223372036854775809"),
    (RAW, b"1e308"),
    2**63 - 1,
    -1,
    0,
    1.5,
    -0.0,
    True,
    False,
    "",
    "   ",
    {"a": 1},
    {},
    [1, "x"],
    [],
    "x" * 100_000,
    "a\u0000b",
    "\u0000",
    "\u2028",
    "2025-02-30T10:00:00Z",
    "9999-12-31T23:59:59-23:59",
    None,
]


def known_reasons() -> frozenset[str]:
    """The reason codes of the README's quarantine table: the documented ones only."""
    text = README.read_text()
    table = text[text.index("| reason | meaning |") : text.index("Accepted without complaint")]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return frozenset(
        code for row in rows for code in re.findall(r"`([a-z0-9-]+)`", row.split("|")[1])
    )


def _paths(value: Any, prefix: Path_) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], (*prefix, 0))


def _model_paths(model: type[BaseModel], prefix: Path_) -> Iterator[Path_]:
    for name, info in model.model_fields.items():
        yield (*prefix, name)
        for inner in _nested_models(info.annotation):
            list_of = any(get_args(arg) for arg in get_args(info.annotation))
            yield from _model_paths(inner, (*prefix, name, 0) if list_of else (*prefix, name))


def _nested_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _nested_models(arg)


def field_paths(reference: dict[str, Any]) -> dict[str, list[Path_]]:
    """Per event name: every path of its reference payload and of its models."""
    found = {}
    for name, event_type in EVENT_TYPES.items():
        paths = set(_paths(reference[name], ()))
        paths |= set(_model_paths(Metadata, ("metadata",)))
        paths |= set(_model_paths(event_type.body_model, ("body",)))
        paths -= {(), ("metadata",), ("body",)}
        found[name] = sorted(paths, key=repr)
    return found


def hostile_line(envelope: dict[str, Any], changes: list[tuple[Path_, Any]]) -> bytes:
    event = copy.deepcopy(envelope)
    raws: list[bytes] = []
    for path, value in changes:
        target: Any = event
        for step in path[:-1]:
            if isinstance(target, dict) and isinstance(step, str):
                target = target.setdefault(step, {} if isinstance(path[-1], str) else [{}])
            elif isinstance(target, list) and isinstance(step, int):
                if not target:
                    target.append({})
                target = target[step]
            else:
                break  # an earlier change made the parent a scalar: nothing to set
        else:
            last = path[-1]
            if isinstance(value, tuple) and value[0] == RAW:
                raws.append(value[1])
                value = f"{RAW}{len(raws) - 1}"
            if isinstance(target, dict) and isinstance(last, str):
                target[last] = value
            elif isinstance(target, list) and isinstance(last, int):
                target[:] = [value]
    line = orjson.dumps(event)
    for index, raw in enumerate(raws):
        line = line.replace(f'"{RAW}{index}"'.encode(), raw)
    return line


def check_store(tmp: Path, lines: list[bytes]) -> None:
    """Replay the lines; every one accounted for; every question answered."""
    dump = tmp / "dump.jsonl"
    dump.write_bytes(b"".join(line + b"\n" for line in lines))
    store = open_store(str(tmp / "store"), create=True)
    summary = run_replay(store, [str(dump)], ReplayOptions())
    assert summary.read == len(lines)
    assert (
        summary.appended + summary.duplicates + summary.not_learning + summary.quarantined_total
        == summary.read
    )
    assert set(summary.quarantined) <= KNOWN_REASONS, summary.quarantined

    db = open_read_side(store)
    try:
        queries = MasteryQueries(db)
        for question in (
            MasteryQuestion(),
            MasteryQuestion(all_courses=True),
            MasteryQuestion(course="1234", as_of=None),
        ):
            queries.rollups(question)
    finally:
        db.close()
    db = open_read_models(store.read_models_path)
    try:
        held_back = db.execute("SELECT * FROM unprojectable_events").fetchall()
        assert held_back == [], "the parser let through what the read models cannot hold"
        courses = [
            row[0]
            for row in db.execute(
                "SELECT DISTINCT context_id FROM result_versions WHERE context_id IS NOT NULL "
                "LIMIT 3"
            )
        ]
    finally:
        db.close()
    location = str(tmp / "store")
    for args in (
        ("query", "--format", "json"),
        ("query", "--as-of", "2024-01-01", "--format", "csv"),
        ("hierarchy", "--format", "json"),
        ("hierarchy",),
        ("status", "--json"),
        ("changes",),
        *(("rollups", "--course", course) for course in courses),
        *(("results", "--course", course) for course in courses),
        *(("distribution", "--course", course) for course in courses),
    ):
        outcome = run(args[0], "--store", location, *args[1:])
        assert outcome.exit_code in (0, 1), (args, outcome.output[-2000:])
    verified = run("verify", "--store", location, "--json")
    assert verified.exit_code == 0, verified.stdout


KNOWN_REASONS = known_reasons()
REFERENCE_PAYLOADS: dict[str, Any] = {
    name: payload
    for name, payload in orjson.loads(REFERENCE.read_bytes()).items()
    if name in EVENT_TYPES
}
FIELDS = field_paths(REFERENCE_PAYLOADS)


@st.composite
def hostile_events(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(sorted(FIELDS)))
    changes = draw(
        st.lists(
            st.tuples(st.sampled_from(FIELDS[name]), st.sampled_from(HOSTILE)),
            min_size=1,
            max_size=3,
        )
    )
    return hostile_line(REFERENCE_PAYLOADS[name], changes)


def test_the_fields_come_from_the_payloads_and_models() -> None:
    assert {"out-of-range", "wrong-type", "missing-entity-id"} <= KNOWN_REASONS
    assert ("body", "attempt") in FIELDS["learning_outcome_result_created"]
    assert ("metadata", "root_account_id") in FIELDS["outcome_proficiency_updated"]
    assert ("body", "outcome_proficiency_ratings", 0, "points") in FIELDS[
        "outcome_proficiency_created"
    ]
    assert ("body", "rubric_criterion", "ratings", 0, "points") in FIELDS[
        "learning_outcome_created"
    ]
    assert sum(len(paths) for paths in FIELDS.values()) > 200


def _property(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]) -> None:
    good = [orjson.dumps(payload) for payload in REFERENCE_PAYLOADS.values()]
    check_store(tmp_path_factory.mktemp("hostile"), good + lines)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(hostile_events(), min_size=1, max_size=25))
def test_hostile_values_in_any_field_are_stored_or_quarantined_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    _property(tmp_path_factory, lines)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(hostile_events(), min_size=1, max_size=60))
def test_hostile_values_in_any_field_many_examples(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    _property(tmp_path_factory, lines)


@pytest.mark.slow
def test_every_hostile_value_in_every_field(tmp_path: Path) -> None:
    """The whole grid, one value in one field per line, in one store."""
    lines = [
        hostile_line(REFERENCE_PAYLOADS[name], [(path, value)])
        for name, paths in FIELDS.items()
        for path in paths
        for value in HOSTILE
        if value != "x" * 100_000 or path[-1] in ("title", "description", "id")
    ]
    check_store(tmp_path, lines)
