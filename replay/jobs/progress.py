"""How a long job reports progress: a callback the front door passes in.

The CLI passes a progress bar, the server a counter, a Python caller nothing. A
job asks for a tracker with its total, unit and label and calls it as it goes; it
never knows what draws (or does not draw) the progress.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, completed: int, *, description: str | None = None) -> None: ...


class Progress(Protocol):
    """`progress(total, unit=..., label=...)` gives a context yielding `update(completed)`.

    `unit` is "bytes" for a transfer (a rate is worth showing) or a plural noun.
    """

    def __call__(
        self, total: int | None, *, unit: str, label: str
    ) -> AbstractContextManager[Advance]: ...


@contextmanager
def no_progress(total: int | None, *, unit: str, label: str) -> Iterator[Advance]:
    """The default: progress goes nowhere."""
    yield _ignore


def _ignore(completed: int, *, description: str | None = None) -> None:
    return None
