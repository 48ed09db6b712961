"""`mastery serve`: receive Canvas live events over HTTPS (the intake runs in this process)."""

from __future__ import annotations

from typing import Annotated

import typer

from replay import service
from replay.cli.options import ReadModelsOption, StoreOption, fail


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
    no_intake: Annotated[
        bool,
        typer.Option(
            "--no-intake",
            help="Serve reading only (the API and web view): a reporting machine following "
            "a PostgreSQL log.",
        ),
    ] = False,
    secure_cookies: Annotated[
        bool,
        typer.Option(help="Session cookies Secure although TLS ends in a proxy in front."),
    ] = False,
) -> None:
    """Receive Canvas live events (POST /events), verified, each stored exactly once; serve
    the API and the web view (a token is needed to read: `mastery token create`)."""
    from replay.server.app import ConfigurationError, ServerSettings, check_settings
    from replay.server.run import serve_forever

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("--ssl-certfile and --ssl-keyfile go together", 2)
    try:
        check_settings(jwks_url=jwks_url, accept_unsigned=accept_unsigned, intake=not no_intake)
    except ConfigurationError as error:
        raise fail(str(error), 2) from None
    opened = service.MasteryService.open(store, read_models=read_models, create=not no_intake)
    settings = ServerSettings(
        mastery=opened,
        intake=not no_intake,
        secure_cookies=secure_cookies or ssl_certfile is not None,
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
