"""`mastery token create|list|revoke`: who may read the store's mastery, or post events.

The secret of a new token is printed once, on stdout alone (so that
`TOKEN=$(mastery token create --scope read)` works); the store keeps its hash only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from replay.cli.options import (
    JsonOption,
    ReadModelsOption,
    StoreOption,
    answering,
    err,
    existing_store,
    out,
)
from replay.cli.output import write_json

if TYPE_CHECKING:
    from replay.service.access import AccessService

app = typer.Typer(
    name="token",
    help="Tokens for the HTTP API and the web view: create, list, revoke.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Scope(StrEnum):
    read = "read"
    ingest = "ingest"


@contextmanager
def _access(store: str | None, read_models: str | None) -> Iterator[AccessService]:
    from replay.service.access import AccessService

    access = AccessService.of(existing_store(store, read_models))
    try:
        yield access
    finally:
        access.close()


def create(
    scope: Annotated[
        Scope, typer.Option(help="read: the API and the web view; ingest: POST /events.")
    ],
    name: Annotated[
        str | None, typer.Option(help="A name to list and revoke it by (default: made up).")
    ] = None,
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
) -> None:
    """Make a token and print it once (only its hash is stored)."""
    with _access(store, read_models) as access:
        info, secret = access.create_token(scope.value, name)
    err.print(f"token {info.name!r} ({info.scope}) made; it is shown once, keep it now:")
    print(secret)


def list_tokens(
    store: StoreOption = None, read_models: ReadModelsOption = None, as_json: JsonOption = False
) -> None:
    """The store's tokens: name, scope, when made and revoked (never the secret)."""
    with _access(store, read_models) as access:
        tokens = access.tokens()
    if as_json:
        write_json(
            [
                {
                    "name": t.name,
                    "scope": t.scope,
                    "created_at": t.created_at,
                    "revoked_at": t.revoked_at,
                }
                for t in tokens
            ]
        )
        return
    table = Table(title=f"{len(tokens)} token(s)", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("name", "scope", "created", "revoked"):
        table.add_column(column)
    for t in tokens:
        table.add_row(t.name, t.scope, t.created_at, t.revoked_at or "-")
    out.print(table)


def revoke(
    name: Annotated[str, typer.Argument(help="The token's name (see `mastery token list`).")],
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
) -> None:
    """Revoke a token: it stops working at once, and its browser sessions end."""
    with _access(store, read_models) as access:
        info = access.revoke(name)
    err.print(f"token {info.name!r} revoked at {info.revoked_at}")


app.command("create")(answering(create))
app.command("list")(answering(list_tokens))
app.command("revoke")(answering(revoke))
