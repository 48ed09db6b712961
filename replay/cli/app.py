"""The `mastery` command line: the typer app, its commands in help order, the entry point.

Command modules define plain functions; only this module knows the app, so that a
command module can be read (and imported by a test) without registering anything.
"""

from __future__ import annotations

import sys

import typer

from replay import service
from replay.cli import (
    delivery,
    exports,
    hierarchy,
    mastery,
    reconcile,
    replaying,
    scaleout,
    serve,
    tokens,
    verify,
)
from replay.cli.options import ReadModelsOption, answering, err

app = typer.Typer(
    name="mastery",
    help="Event-sourced Canvas outcome mastery: replay live-event dumps, ask about mastery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def global_options(read_models: ReadModelsOption = None) -> None:
    """Event-sourced Canvas outcome mastery: replay live-event dumps, ask about mastery."""
    service.set_read_models_default(read_models)


for name, command in (
    (None, replaying.replay),
    (None, replaying.status),
    ("quarantine", replaying.quarantine_command),
    (None, replaying.generate),
    (None, exports.rollups),
    (None, exports.results),
    (None, exports.distribution),
    (None, exports.changes),
    (None, hierarchy.hierarchy),
    (None, mastery.query),
    (None, mastery.rebuild),
    (None, scaleout.follow),
    (None, scaleout.copy),
    (None, verify.verify),
    (None, delivery.gaps),
    (None, reconcile.reconcile),
    (None, serve.serve),
):
    app.command(name)(answering(command))
app.add_typer(tokens.app, name="token")


def main() -> None:
    try:
        app()
    except Exception as error:  # a read-only store, a full disk: one sentence, exit 2
        from replay.cli.faults import describe_storage_fault, is_storage_fault

        if not is_storage_fault(error):
            raise
        err.print(f"[bold red]error:[/] {describe_storage_fault(error, sys.argv)}")
        sys.exit(2)
