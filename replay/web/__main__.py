"""`python -m replay.web --store DIR [--host H] [--port P]`: the read side alone.

The API and the web view on one store, under uvicorn, with no intake: what a
reporting machine runs (`mastery serve` mounts the same application beside the
intake). Behind a TLS proxy, pass --secure-cookies.
"""

from __future__ import annotations

import argparse


def main() -> None:
    import uvicorn

    from replay.service import MasteryService
    from replay.web import create_web_app

    parser = argparse.ArgumentParser(prog="python -m replay.web", description=__doc__)
    parser.add_argument("--store", default=None, help="store directory or postgresql:// URL")
    parser.add_argument("--read-models", default=None, help="a PostgreSQL store's local directory")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--secure-cookies", action="store_true", help="TLS ends in a proxy")
    options = parser.parse_args()
    service = MasteryService.open(options.store, read_models=options.read_models)
    app = create_web_app(service, secure_cookies=options.secure_cookies)
    uvicorn.run(app, host=options.host, port=options.port, log_level="info")


if __name__ == "__main__":
    main()
