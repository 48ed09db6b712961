"""Progress for long work: a bar on a terminal, silence in a pipe."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Advance(Protocol):
    def __call__(self, completed: int, *, description: str | None = None) -> None: ...


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(total: int | None, *, unit: str, label: str) -> Iterator[Advance]:
    """Yields `update(completed)`; draws nothing unless stderr is a terminal.

    `unit` is "bytes" (a transfer bar with speed) or anything else (a count).
    """
    if not stderr_is_terminal():
        yield _ignore
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn()]
    if unit == "bytes":
        columns += [DownloadColumn(), TransferSpeedColumn()]
    else:
        columns += [MofNCompleteColumn(), TextColumn(unit)]
    columns += [TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task: TaskID = progress.add_task(label, total=total)

        def update(completed: int, *, description: str | None = None) -> None:
            progress.update(task, completed=completed, description=description or label)

        yield update


def _ignore(completed: int, *, description: str | None = None) -> None:
    return None
