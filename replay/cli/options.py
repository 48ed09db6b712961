"""What every command shares: the store options, the two consoles, and how to fail."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from replay import service

# A pipe has no width: lay tables out for 120 columns there rather than rich's 80.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
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


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def answering() -> Iterator[None]:
    """Turns a service error into its message on stderr and its exit code."""
    try:
        yield
    except service.ServiceError as error:
        raise fail(str(error), EXIT_CODES.get(type(error), 1)) from None


def existing_store(store: str | None, read_models: str | None) -> service.MasteryService:
    """The store a read command names; exit 2 with the reason when there is none."""
    with answering():
        return service.MasteryService.open(store, read_models=read_models)
