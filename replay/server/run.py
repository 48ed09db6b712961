"""Running the app under uvicorn: TLS, logging, and a SIGTERM that ends with exit 0.

uvicorn's own signal handling shuts down gracefully (stop accepting, wait for the
requests in flight, run the lifespan's shutdown: the intake commits what is queued)
and then raises the signal again, so a service manager would see death by SIGTERM.
Here the graceful part is kept and the process then ends normally.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator

import uvicorn

from replay.server.app import LiveEventsApp, ServerSettings

GRACEFUL_SECONDS = 20


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("mastery.access",):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    other = logging.StreamHandler(sys.stderr)
    other.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("mastery.serve", "mastery.intake", "mastery.keys"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [other]
        logger.setLevel(level)
        logger.propagate = False


def build_server(
    live: LiveEventsApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    config = uvicorn.Config(
        live.app,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        lifespan="on",
        access_log=False,  # ours is structured and carries no personal data
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        limit_concurrency=2_000,
        backlog=2_048,
    )
    return _Server(config)


def serve_forever(
    settings: ServerSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> bool:
    """Serve until SIGTERM or Ctrl-C; False if the server could not start."""
    configure_logging()
    live = LiveEventsApp(settings)
    server = build_server(
        live, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile
    )
    server.run()
    return bool(server.started)
