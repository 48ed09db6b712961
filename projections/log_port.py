"""What the projections need of the log: a port, which the store satisfies.

The read models follow the log by position: the last position there is, the rows after
a position in order, and the state of one row as a dict. That is all; how the log is
stored (SQLite or PostgreSQL, through which library, compressed how) is the store's
business (replay/store/), so projections never import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

LogRow = tuple[int, str, bytes]
"""A stored event as the projections need it: position, topic, stored state bytes."""


class LogReader(Protocol):
    """The log, read in position order."""

    def head(self) -> int:
        """The last position in the log (0 when it is empty)."""
        ...

    def rows_after(self, position: int, limit: int) -> Sequence[LogRow]:
        """Up to `limit` rows whose position is greater than `position`, in order."""
        ...

    def decode(self, state: bytes) -> dict[str, Any]:
        """A row's stored state bytes -> the event's state (JSON values only)."""
        ...
