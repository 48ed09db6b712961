"""Delivery effects for the synthetic dump generator: jittered order and duplicates.

Applied last, with their own random generator, so turning them on reorders and
repeats the same events of `generate.py`; it never changes them.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

import orjson

from replay.synthetic.world import Event, Item, request_uuid


def deliver(
    items: Iterator[Item], seed: int, shuffle_seconds: float, duplicates: float
) -> Iterator[Event]:
    """Apply delivery: each event's position jittered within the window, some sent twice.

    A duplicate is a real copy (same event_name, event_time and body). It arrives
    later: an SQS redelivery within seconds, an HTTPS retry 10-20 minutes on, or the
    same change emitted again under another request_id or job_id.
    """
    if shuffle_seconds <= 0 and duplicates <= 0:
        for item in items:
            yield item[3]
        return
    rng = random.Random(f"{seed}/delivery")
    window, dup = shuffle_seconds * 1000.0, duplicates
    heap: list[tuple[float, int, Event]] = []
    n = 0
    for t, _, _, ev in items:
        while heap and heap[0][0] <= t:
            yield heapq.heappop(heap)[2]
        key = t + rng.random() * window
        heapq.heappush(heap, (key, n, ev))
        n += 1
        if dup and rng.random() < dup:
            copy: Event = orjson.loads(orjson.dumps(ev))
            u = rng.random()
            if u < 0.4:
                delay = rng.uniform(200.0, 30_000.0)
            elif u < 0.75:
                delay = rng.uniform(600_000.0, 1_200_000.0)
            else:
                delay = rng.uniform(1_000.0, 120_000.0)
                meta = copy["metadata"]
                if "request_id" in meta:
                    meta["request_id"] = request_uuid(rng)
                else:
                    meta["job_id"] = str(int(meta["job_id"]) + 1 + rng.randrange(10**6))
            heapq.heappush(heap, (key + delay, n, copy))
            n += 1
    while heap:
        yield heapq.heappop(heap)[2]
