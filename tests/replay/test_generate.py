"""The synthetic dump generator: deterministic, streaming, and shaped like real Canvas delivery."""

from __future__ import annotations

import importlib.util
import io
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from replay.synthetic.generate import (
    GeneratorSettings,
    estimate_events,
    generate_events,
    write_dump,
)

ROOT = Path(__file__).resolve().parents[2]
LEARNING_EVENTS = {
    f"{entity}_{verb}"
    for entity in (
        "learning_outcome",
        "learning_outcome_group",
        "learning_outcome_link",
        "learning_outcome_result",
        "outcome_proficiency",
        "outcome_calculation_method",
    )
    for verb in ("created", "updated")
}
PERSONAL = (
    "user_id",
    "user_login",
    "user_sis_id",
    "client_ip",
    "user_agent",
    "session_id",
    "hostname",
    "url",
    "referrer",
    "request_id",
    "http_method",
    "time_zone",
    "context_role",
)
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GLOBAL_ID = re.compile(r"^2107\d{13}$")
SMALL = GeneratorSettings(students=60, courses=3, outcomes=8, results_per_student=8, seed=7)
Event = dict[str, Any]


def events(settings: GeneratorSettings) -> list[Event]:
    return list(generate_events(settings))


def identity(e: Event) -> tuple[str, str, bytes]:
    """What makes two deliveries the same event: Canvas has no event id."""
    return e["metadata"]["event_name"], e["metadata"]["event_time"], orjson.dumps(e["body"])


@pytest.fixture(scope="module")
def messy() -> list[Event]:
    return events(
        GeneratorSettings(
            students=150,
            courses=4,
            outcomes=12,
            results_per_student=10,
            seed=11,
            duplicates=0.1,
            shuffle_seconds=300,
            legacy=0.1,
        )
    )


def test_same_seed_gives_identical_bytes_and_another_seed_differs() -> None:
    settings = GeneratorSettings(
        students=40,
        courses=2,
        outcomes=6,
        results_per_student=6,
        seed=3,
        duplicates=0.1,
        shuffle_seconds=120,
        legacy=0.1,
    )
    a, b, c = io.BytesIO(), io.BytesIO(), io.BytesIO()
    n = write_dump(settings, a)
    assert write_dump(settings, b) == n
    assert a.getvalue() == b.getvalue()
    assert a.getvalue().count(b"\n") == n
    write_dump(GeneratorSettings(**{**settings.__dict__, "seed": 4}), c)
    assert c.getvalue() != a.getvalue()


def test_every_learning_event_type_appears(messy: list[Event]) -> None:
    assert {e["metadata"]["event_name"] for e in messy} == LEARNING_EVENTS


def test_envelopes_have_canvas_metadata(messy: list[Event]) -> None:
    for e in messy:
        m = e["metadata"]
        assert EVENT_TIME.match(m["event_time"]), m["event_time"]
        assert m["producer"] == "canvas"
        assert m["root_account_id"] == "21070000000000001"
        assert m["root_account_uuid"] and m["root_account_lti_guid"].startswith(
            m["root_account_uuid"]
        )


def test_request_metadata_carries_personal_data_and_global_ids(messy: list[Event]) -> None:
    requests = [e for e in messy if "request_id" in e["metadata"]]
    jobs = [e for e in messy if "job_id" in e["metadata"]]
    assert requests and jobs and len(requests) + len(jobs) == len(messy)
    in_course = [e for e in requests if e["metadata"]["context_type"] == "Course"]
    assert in_course
    for e in requests:
        assert all(k in e["metadata"] for k in PERSONAL), e["metadata"]
        assert GLOBAL_ID.match(e["metadata"]["context_id"])
        assert GLOBAL_ID.match(e["metadata"]["context_account_id"])
    for e in in_course:
        assert e["metadata"]["context_account_id"] == "21070000000000079"
        body_ctx = e["body"].get("context_id")
        if e["body"].get("context_type") == "Course" and body_ctx is not None:
            assert int(e["metadata"]["context_id"]) == 2107 * 10**13 + int(
                body_ctx
            )  # local in body
    for e in jobs:
        assert e["metadata"]["job_tag"]
        assert not any(k in e["metadata"] for k in ("user_id", "user_login", "client_ip"))


def test_without_delivery_effects_the_order_is_event_time_order() -> None:
    times = [e["metadata"]["event_time"] for e in events(SMALL)]
    assert times == sorted(times)


def test_shuffle_reorders_only_within_the_window() -> None:
    window = 600.0
    shuffled = events(GeneratorSettings(**{**SMALL.__dict__, "shuffle_seconds": window}))
    times = [e["metadata"]["event_time"] for e in shuffled]
    assert times != sorted(times)
    seconds = [
        time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) + int(t[20:23]) / 1000
        for t in times
    ]
    latest = seconds[0]
    for s in seconds:
        assert s >= latest - window - 0.001
        latest = max(latest, s)
    # Shuffling reorders the same events; it never changes them.
    assert sorted(map(identity, shuffled)) == sorted(map(identity, events(SMALL)))


def test_duplicates_are_real_copies_in_roughly_the_asked_fraction() -> None:
    base = events(SMALL)
    doubled = events(GeneratorSettings(**{**SMALL.__dict__, "duplicates": 0.2}))
    groups: dict[tuple[str, str, bytes], list[Event]] = defaultdict(list)
    for e in doubled:
        groups[identity(e)].append(e)
    assert set(groups) == set(map(identity, base))
    copies = sum(len(g) - 1 for g in groups.values())
    assert 0.16 < copies / len(base) < 0.24
    differing = 0
    for g in groups.values():
        assert len(g) <= 2
        if len(g) == 2 and g[0]["metadata"] != g[1]["metadata"]:
            differing += 1
            changed = {k for k in g[0]["metadata"] if g[0]["metadata"][k] != g[1]["metadata"][k]}
            assert changed in ({"request_id"}, {"job_id"})
    assert 0 < differing < copies


def test_legacy_results_have_no_id_no_user_and_an_outcome_id_as_mastery(messy: list[Event]) -> None:
    created = [
        e["body"] for e in messy if e["metadata"]["event_name"] == "learning_outcome_result_created"
    ]
    legacy = [b for b in created if "id" not in b]
    assert 0.05 < len(legacy) / len(created) < 0.15
    for b in legacy:
        assert "user_uuid" not in b
        assert not isinstance(b["mastery"], bool)
        assert str(b["mastery"]) == str(b["learning_outcome_id"])
    assert {type(b["mastery"]) for b in legacy} == {str, int}
    for b in created:
        if "id" in b:
            assert isinstance(b["mastery"], bool) and len(b["user_uuid"]) == 40


def test_results_cover_what_mastery_rules_must_handle(messy: list[Event]) -> None:
    results = [
        e for e in messy if e["metadata"]["event_name"].startswith("learning_outcome_result")
    ]
    bodies = [e["body"] for e in results if "id" in e["body"]]
    assert any(b.get("score", 0) is None or "score" not in b for b in bodies)
    assert any(b.get("percent", 0) is None or "percent" not in b for b in bodies)
    assert any(b["workflow_state"] == "deleted" for b in bodies)
    per_quiz = Counter(
        (b["user_uuid"], b["learning_outcome_id"], b["associated_asset_id"])
        for b in bodies
        if b["artifact_type"] == "Quizzes::QuizSubmission"
    )
    assert max(per_quiz.values()) >= 2  # several results per quiz
    assert any(b["artifact_type"] == "RubricAssessment" for b in bodies)
    assert any(
        b["assessed_at"].endswith(".000Z") or re.search(r"\.\d{3}Z$", b["assessed_at"])
        for b in bodies
    )
    created = {
        str(b["id"]): e["metadata"]["event_time"]
        for e in results
        for b in [e["body"]]
        if "id" in b and e["metadata"]["event_name"].endswith("created")
    }
    updates = [e for e in results if e["metadata"]["event_name"].endswith("updated")]
    assert updates
    for e in updates:
        assert str(e["body"]["id"]) in created
        assert e["metadata"]["event_time"] > created[str(e["body"]["id"])]
        assert "updated_at" in e["body"]
    # A student keeps one uuid across the courses they are enrolled in.
    courses_of = defaultdict(set)
    for b in bodies:
        courses_of[b["user_uuid"]].add(str(b["result_context_id"]))
    assert max(len(c) for c in courses_of.values()) >= 2


def test_outcomes_scales_and_methods_are_varied(messy: list[Event]) -> None:
    outcomes = [
        e["body"] for e in messy if e["metadata"]["event_name"] == "learning_outcome_created"
    ]
    methods = {b.get("calculation_method") for b in outcomes}
    assert {
        "highest",
        "latest",
        "average",
        "n_mastery",
        "decaying_average",
        "weighted_average",
        "standard_decaying_average",
        None,
    } <= methods
    assert any(
        b.get("calculation_method") == "decaying_average" and b.get("calculation_int") is None
        for b in outcomes
    )
    for b in outcomes:
        rc = b["rubric_criterion"]
        assert rc["ratings"] and 0 < rc["mastery_points"] <= rc["points_possible"]
    names = Counter(e["metadata"]["event_name"] for e in messy)
    for kind in (
        "learning_outcome",
        "learning_outcome_group",
        "learning_outcome_link",
        "outcome_proficiency",
        "outcome_calculation_method",
    ):
        updates = [e["body"] for e in messy if e["metadata"]["event_name"] == f"{kind}_updated"]
        assert any(b.get("workflow_state") == "deleted" for b in updates), kind
        assert names[f"{kind}_created"] > 0
    scales = [
        e["body"] for e in messy if e["metadata"]["event_name"].startswith("outcome_proficiency")
    ]
    assert {b["context_type"] for b in scales} == {"Account", "Course"}
    for b in scales:
        ratings = b["outcome_proficiency_ratings"]
        assert sum(r["mastery"] is True for r in ratings) == 1
        assert all(re.fullmatch(r"[0-9A-F]{6}", r["color"]) for r in ratings)
    groups = [
        e["body"] for e in messy if e["metadata"]["event_name"] == "learning_outcome_group_created"
    ]
    assert any(b.get("parent_outcome_group_id") is None for b in groups)
    parents = {
        str(b["learning_outcome_group_id"]): b.get("parent_outcome_group_id") for b in groups
    }
    depth = max(_depth(g, parents) for g in parents)
    assert depth >= 3


def _depth(group: str, parents: dict[str, Any]) -> int:
    n = 1
    while parents.get(group) is not None:
        group, n = str(parents[group]), n + 1
    return n


def test_ids_are_mostly_strings_some_numbers_and_new_fields_appear(messy: list[Event]) -> None:
    numeric = [
        e for e in messy if any(k.endswith("id") and type(v) is int for k, v in e["body"].items())
    ]
    assert 0 < len(numeric) < 0.05 * len(messy)
    assert any(
        "some_new_field" in e["body"] or "copied_from_outcome_id" in e["body"] for e in messy
    )


@pytest.mark.parametrize(
    "settings",
    [
        GeneratorSettings(),
        GeneratorSettings(students=500, outcomes=4, results_per_student=5, duplicates=0.3),
        GeneratorSettings(students=80, courses=8, outcomes=20, results_per_student=30, legacy=0.5),
    ],
)
def test_event_count_is_near_the_estimate(settings: GeneratorSettings) -> None:
    n = sum(1 for _ in generate_events(settings))
    assert abs(n - estimate_events(settings)) <= 0.1 * n


def test_events_stream_lazily() -> None:
    """Half a billion events would not fit in memory: the first ten come at once, or the
    test times out (how long they take is the benchmark's figure, not an assertion)."""
    huge = GeneratorSettings(students=10_000_000, results_per_student=50)
    it = generate_events(huge)
    assert isinstance(it, Iterator) and not isinstance(it, list)
    first = [next(it) for _ in range(10)]
    assert len(first) == 10 and estimate_events(huge) > 500_000_000


def test_reference_fixture_holds_every_example_and_marks_the_constructed_ones() -> None:
    payloads = orjson.loads((ROOT / "tests/fixtures/reference_payloads.json").read_bytes())
    assert "constructed" in payloads["_note"].lower()
    names = {k for k in payloads if not k.startswith("_")}
    assert names == LEARNING_EVENTS
    for name in names:
        assert payloads[name]["metadata"]["event_name"] == name
    # Canvas's reference text, copied into the fixtures: each example exactly, whitespace aside
    reference = ROOT / "tests/fixtures/reference/canvas-learning-live-events.txt"
    text = re.sub(r"\s+", "", reference.read_text())
    from_reference = names - {
        "outcome_calculation_method_created",
        "outcome_calculation_method_updated",
    }
    assert len(from_reference) == 10
    for name in from_reference:
        assert re.sub(r"\s+", "", orjson.dumps(payloads[name]).decode()) in text


def test_sample_dump_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "data/make_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    payloads = orjson.loads((ROOT / "tests/fixtures/reference_payloads.json").read_bytes())
    expected = io.BytesIO()
    for name, payload in payloads.items():
        if not name.startswith("_"):
            expected.write(orjson.dumps(payload) + b"\n")
    write_dump(module.SETTINGS, expected)
    sample = (ROOT / "data/sample.jsonl").read_bytes()
    assert sample == expected.getvalue(), "run: .venv/bin/python data/make_sample.py"
    assert len(sample) < 2_000_000
    assert b"outcome_calculation_method_created" in sample


def course_links(generated: list[Event]) -> set[str]:
    return {
        str(e["body"]["learning_outcome_id"])
        for e in generated
        if e["metadata"]["event_name"] == "learning_outcome_link_created"
        and e["body"]["context_type"] == "Course"
    }


def test_outcomes_per_course_links_and_grades_every_outcome_early() -> None:
    """The course-grid benchmark's knob: a course with all the outcomes, each graded soon."""
    settings = GeneratorSettings(
        students=30, outcomes=12, results_per_student=48, courses=1, seed=2, outcomes_per_course=12
    )
    generated = events(settings)
    results = [
        e for e in generated if e["metadata"]["event_name"] == "learning_outcome_result_created"
    ]
    linked = course_links(generated)
    assert len(linked) == 12  # 10 shared outcomes and the course's own 2
    first_half = results[: len(results) // 2]
    assert {str(e["body"]["learning_outcome_id"]) for e in first_half} == linked
    by_student: dict[str, set[str]] = defaultdict(set)
    for e in results:
        by_student[e["body"]["user_uuid"]].add(str(e["body"]["learning_outcome_id"]))
    assert all(outcomes == linked for outcomes in by_student.values())
    assert abs(len(generated) - estimate_events(settings)) <= 0.1 * len(generated)
    # Without the knob a course links 6 shared outcomes and its own (as the sample pins).
    assert len(course_links(events(GeneratorSettings(students=30, outcomes=12, courses=1)))) == 8


def test_output_file_ending_in_gz_is_gzip_compressed(tmp_path: Path) -> None:
    import gzip

    from tests.replay.helpers import replay_json, run

    target = tmp_path / "small.jsonl.gz"
    result = run("generate", "--students", "3", "--outcomes", "2", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:2] == b"\x1f\x8b"
    lines = gzip.decompress(target.read_bytes()).splitlines()
    assert lines and all(orjson.loads(line)["metadata"] for line in lines)
    summary = replay_json(tmp_path / "store", target)
    assert summary["quarantined"] == 0
    assert summary["appended"] == len(lines)
