"""The valid-time order of one entity's changes, and how it breaks ties.

Canvas's `event_time` says when a change happened (valid time), but two changes of
one entity can carry the same time. The order must still be total and the same
whatever order the events arrived in, so that a timeline, a read model's version
table and a rebuild all agree on which change is the latest.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

Time = TypeVar("Time", datetime, str)


def valid_time_order(
    event_time: Time, canvas_event: str, fingerprint: str
) -> tuple[Time, int, str]:
    """The sort key of a change in valid time. Ties: a create before an update, then
    the delivery fingerprint.

    The fingerprint is arbitrary but the same in every run, which is what makes the
    answer independent of the order of arrival. `event_time` is a datetime in the
    domain's timelines, or the fixed-width UTC text the read models store (which sorts
    as the time does).
    """
    return (event_time, 0 if canvas_event.endswith("_created") else 1, fingerprint)
