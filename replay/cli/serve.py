"""`mastery serve`: receive Canvas live events over HTTPS (the intake runs in this process)."""

from __future__ import annotations

from typing import Annotated

import typer

from replay.cli.options import ReadModelsOption, StoreOption, fail
from replay.store.location import StoreError, open_store


def serve(
    store: StoreOption = None,
    read_models: ReadModelsOption = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    jwks_url: Annotated[
        str | None,
        typer.Option(
            help="JWKS of the keys that sign the events (Canvas: "
            "https://8axpcl50e4.execute-api.us-east-1.amazonaws.com/main/jwks); a POST must "
            "then be an RS256 JWT signed by one of them.",
            show_default=False,
        ),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            help="Required `iss` of signed events (Canvas: "
            "https://live-events.canvas.instructure.com).",
            show_default=False,
        ),
    ] = None,
    accept_unsigned: Annotated[
        bool,
        typer.Option(help="Accept unsigned event JSON too (a private network, tests)."),
    ] = False,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="TLS certificate (PEM) to serve HTTPS directly.")
    ] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    keep_request_metadata: Annotated[
        bool, typer.Option(help="Keep user_login, client_ip, url... (dropped by default).")
    ] = False,
    jwks_cooldown: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds between JWKS fetches caused by unknown key ids."),
    ] = 30.0,
    max_lag: Annotated[
        float,
        typer.Option(min=0.0, help="/readyz fails when the read models are this many s behind."),
    ] = 30.0,
) -> None:
    """Receive Canvas live events (POST /events), verified, each stored exactly once."""
    from replay.server.app import ConfigurationError, ServerSettings, check_settings
    from replay.server.run import serve_forever

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("--ssl-certfile and --ssl-keyfile go together", 2)
    try:
        check_settings(jwks_url=jwks_url, accept_unsigned=accept_unsigned)
        opened = open_store(store, create=True, read_models=read_models)
    except (StoreError, ConfigurationError) as error:
        raise fail(str(error), 2) from None
    settings = ServerSettings(
        store=opened,
        jwks_url=jwks_url,
        issuer=issuer,
        accept_unsigned=accept_unsigned,
        keep_request_metadata=keep_request_metadata,
        jwks_cooldown_seconds=jwks_cooldown,
        max_lag_seconds=max_lag,
    )
    if not serve_forever(
        settings, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile
    ):
        raise fail("the server did not start (see the messages above)", 1)
