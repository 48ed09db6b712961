"""The web tests' world: the sample store, its tokens, the app under a test client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from replay.service import MasteryService
from replay.service.access import AccessService
from replay.web import create_web_app

SAMPLE = Path(__file__).parents[2] / "data" / "sample.jsonl"


class World:
    def __init__(self, service: MasteryService) -> None:
        self.service = service
        self.store = service.location
        access = AccessService.of(service)
        _, self.read_token = access.create_token("read", name="reader")
        _, self.ingest_token = access.create_token("ingest", name="backfill")
        access.close()

    def client(self, **options: bool) -> TestClient:
        return TestClient(create_web_app(self.service, **options), follow_redirects=False)

    def api(self) -> TestClient:
        client = self.client()
        client.headers["Authorization"] = f"Bearer {self.read_token}"
        return client

    def browser(self) -> TestClient:
        """A client signed in through the login form (it holds the session cookie)."""
        client = self.client()
        answer = client.post("/login", data={"token": self.read_token, "next": "/"})
        assert answer.status_code == 303, answer.text
        return client


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    service = MasteryService.open(str(tmp_path_factory.mktemp("web") / "store"), create=True)
    service.replay([str(SAMPLE)])
    return World(service)


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with world.api() as client:
        yield client


class LiveServer:
    """The app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, world: World) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_web_app(world.service), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("the server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live(world: World) -> Iterator[LiveServer]:
    with LiveServer(world) as server:
        yield server
