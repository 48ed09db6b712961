"""What every command shares: the store options, the two consoles, and how to fail."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from replay.store.location import READ_MODELS_ENV, STORE_ENV, Store, StoreError, open_store

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="mastery",
    help="Event-sourced Canvas outcome mastery: replay live-event dumps, ask about mastery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# A pipe has no width: lay tables out for 120 columns there rather than rich's 80.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        help="Store directory or postgresql:// URL (default ./mastery-store).",
        show_default=False,
    ),
]
ReadModelsOption = Annotated[
    str | None,
    typer.Option(
        "--read-models",
        help="Local directory for a PostgreSQL store's quarantine and read models "
        f"(default ${READ_MODELS_ENV}, else a name derived from the URL).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def existing_store(store: str | None, read_models: str | None) -> Store:
    """The store a read command names; exit 2 with the reason when there is none."""
    try:
        return open_store(store, create=False, read_models=read_models)
    except StoreError as error:
        raise fail(str(error), 2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)
