"""What every command shares: the store options, the two consoles, and how to fail."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from replay import service

if TYPE_CHECKING:
    from replay.service import MasteryService

P = ParamSpec("P")
R = TypeVar("R")

# A pipe has no width: lay tables out wide enough that nothing in a row is cut
# (a 40-character user_uuid, a long rating) rather than in rich's 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
# Never wrap messages: a log line must keep a path or a suggested command whole.
err = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=service.STORE_ENV,
        help="Store directory or postgresql:// URL (default ./mastery-store).",
        show_default=False,
    ),
]
ReadModelsOption = Annotated[
    str | None,
    typer.Option(
        "--read-models",
        help="Local directory for a PostgreSQL store's quarantine and read models "
        f"(default ${service.READ_MODELS_ENV}, else a name derived from the URL).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

EXIT_CODES: dict[type[service.ServiceError], int] = {
    service.BadQuestion: 2,
    service.BadInput: 2,
    service.StoreUnavailable: 2,
    service.NotFound: 1,
    service.StrictStop: 1,
}
"""The exit code of each service error: 2 the question or the store, 1 the answer."""


def counted(number: int, noun: str) -> str:
    """'1 line', '2 lines': a count with its noun in the right number."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def answering(command: Callable[P, R]) -> Callable[P, R]:
    """The command, with a service error turned into its message and its exit code."""

    @functools.wraps(command)
    def answer(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result: R = command(*args, **kwargs)
            return result
        except service.ServiceError as error:
            raise fail(str(error), EXIT_CODES.get(type(error), 1)) from None

    return answer


def existing_store(store: str | None, read_models: str | None) -> MasteryService:
    """The store a read command names (StoreUnavailable when there is none)."""
    return service.MasteryService.open(store, read_models=read_models)
