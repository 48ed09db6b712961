from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.aggregates import AGGREGATE_CLASSES, CanvasEntity, Result
from domain.events import CanvasEvent, parse_event
from tests.conftest import NOW

RECORDED = datetime(2026, 1, 1, tzinfo=UTC)


def result_event(payload: Any, *, at: str, score: float, name: str = "created") -> CanvasEvent:
    envelope = payload(f"learning_outcome_result_{name}")
    envelope["metadata"]["event_time"] = at
    envelope["body"]["score"] = score
    event = parse_event(envelope, now=NOW)
    assert isinstance(event, CanvasEvent)
    return event


def fold(events: list[CanvasEvent], recorded_at: datetime = RECORDED) -> CanvasEntity:
    first, *rest = events
    aggregate = AGGREGATE_CLASSES[first.kind].first_seen(first, recorded_at)
    for event in rest:
        aggregate.record(event, recorded_at)
    return aggregate


def test_the_first_event_creates_the_aggregate_with_the_canvas_time(payload: Any) -> None:
    event = result_event(payload, at="2024-03-01T10:00:00Z", score=3)
    aggregate = fold([event])
    assert isinstance(aggregate, Result)
    assert aggregate.version == 1
    assert aggregate.created_on == event.event_time
    assert aggregate.id == Result.id_for(event.root_account, event.entity_id)
    (domain_event,) = aggregate.collect_events()
    assert domain_event.timestamp == event.event_time


def test_an_update_arriving_before_its_create_is_not_rejected(payload: Any) -> None:
    update = result_event(payload, at="2024-03-02T10:00:00Z", score=4, name="updated")
    create = result_event(payload, at="2024-03-01T10:00:00Z", score=3)
    aggregate = fold([update, create])
    assert aggregate.version == 2
    assert aggregate.current.body["score"] == 4
    assert aggregate.current.canvas_event == "learning_outcome_result_updated"


def test_the_same_delivery_twice_is_recorded_once(payload: Any) -> None:
    event = result_event(payload, at="2024-03-01T10:00:00Z", score=3)
    aggregate = fold([event])
    assert aggregate.record(event, RECORDED) is False
    assert aggregate.version == 1
    assert len(aggregate.collect_events()) == 1


def test_state_as_of_a_time_is_the_latest_change_at_or_before_it(payload: Any) -> None:
    events = [
        result_event(payload, at="2024-03-01T10:00:00Z", score=1),
        result_event(payload, at="2024-03-05T10:00:00Z", score=2, name="updated"),
        result_event(payload, at="2024-03-09T10:00:00Z", score=3, name="updated"),
    ]
    aggregate = fold(events)
    at = datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert aggregate.as_of(at - timedelta(days=5)) is None
    assert aggregate.as_of(at - timedelta(seconds=1)).body["score"] == 1  # type: ignore[union-attr]
    assert aggregate.as_of(at).body["score"] == 2  # type: ignore[union-attr]
    assert aggregate.as_of(at + timedelta(days=30)).body["score"] == 3  # type: ignore[union-attr]


def test_known_at_hides_what_was_recorded_later(payload: Any) -> None:
    early = result_event(payload, at="2024-03-01T10:00:00Z", score=1)
    late_arrival = result_event(payload, at="2024-03-02T10:00:00Z", score=2, name="updated")
    aggregate = fold([early])
    aggregate.record(late_arrival, RECORDED + timedelta(days=30))
    valid = datetime(2024, 3, 3, tzinfo=UTC)
    assert aggregate.as_of(valid).body["score"] == 2  # type: ignore[union-attr]
    as_known = aggregate.as_of(valid, known_at=RECORDED + timedelta(days=1))
    assert as_known is not None and as_known.body["score"] == 1


def test_a_reloaded_aggregate_remembers_its_fingerprints(payload: Any) -> None:
    event = result_event(payload, at="2024-03-01T10:00:00Z", score=3)
    aggregate = fold([event])
    domain_events = aggregate.collect_events()
    copy: Any = None
    for domain_event in domain_events:
        copy = domain_event.mutate(copy)
    assert copy.has_recorded(event.fingerprint)
    assert copy.record(event, RECORDED) is False


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 5)), min_size=1, max_size=8),
    data=st.data(),
)
def test_state_as_of_any_time_does_not_depend_on_arrival_order(
    payload: Any, scores: list[tuple[int, int]], data: st.DataObject
) -> None:
    base = datetime(2024, 3, 1, tzinfo=UTC)
    events = [
        result_event(
            payload,
            at=(base + timedelta(hours=hour)).isoformat().replace("+00:00", "Z"),
            score=score,
            name="created" if index == 0 else "updated",
        )
        for index, (hour, score) in enumerate(scores)
    ]
    arrival = data.draw(st.permutations(events + events[: len(events) // 2]))
    in_order = fold(events)
    shuffled = fold(list(arrival))
    assert shuffled.version == in_order.version == len({e.fingerprint for e in events})
    for hour in range(-1, 22):
        moment = base + timedelta(hours=hour)
        assert in_order.as_of(moment) == shuffled.as_of(moment)


def test_as_of_counts_a_change_at_the_exact_valid_and_known_instants(payload: Any) -> None:
    first = result_event(payload, at="2024-03-01T10:00:00Z", score=1)
    second = result_event(payload, at="2024-03-02T10:00:00Z", score=2, name="updated")
    aggregate = AGGREGATE_CLASSES[first.kind].first_seen(first, RECORDED)
    later = RECORDED + timedelta(days=1)
    assert aggregate.record(second, later) is True
    tick = timedelta(microseconds=1)
    t = second.event_time
    # valid time T equal to the change's event_time: in force, with or without known_at
    assert aggregate.as_of(t).body["score"] == 2
    assert aggregate.as_of(t, later).body["score"] == 2
    assert aggregate.as_of(t - tick, later).body["score"] == 1
    # known at K equal to the change's recorded_at: known; a tick before: not yet
    assert aggregate.as_of(t, later - tick).body["score"] == 1
    assert aggregate.as_of(first.event_time, RECORDED).body["score"] == 1
    assert aggregate.as_of(first.event_time, RECORDED - tick) is None
    assert aggregate.as_of(first.event_time - tick, later) is None


def test_a_recorded_change_names_its_entity_and_keeps_what_it_carried(payload: Any) -> None:
    first = result_event(payload, at="2024-03-01T10:00:00Z", score=1)
    second = result_event(payload, at="2024-03-02T10:00:00Z", score=2, name="updated")
    aggregate = AGGREGATE_CLASSES[first.kind].first_seen(first, RECORDED)
    assert aggregate.record(second, RECORDED) is True
    assert aggregate.record(second, RECORDED) is False  # the same delivery again
    _created, changed = aggregate.collect_events()
    assert changed.canvas_id == first.entity_id == "1"
    assert changed.root_account == first.root_account
    change = aggregate.current
    assert change.metadata == second.metadata
    assert change.metadata["event_time"] == "2024-03-02T10:00:00.000Z"
    assert change.legacy is False
    assert aggregate.timeline[0].legacy is False
    assert aggregate.timeline[0].metadata == first.metadata


def test_changes_of_one_instant_are_ordered_by_their_fingerprints(payload: Any) -> None:
    first = result_event(payload, at="2024-03-01T10:00:00Z", score=1, name="updated")
    second = result_event(payload, at="2024-03-01T10:00:00Z", score=2, name="updated")
    aggregate = fold([first, second])
    assert [change.fingerprint for change in aggregate.timeline] == sorted(
        [first.fingerprint, second.fingerprint]
    )
