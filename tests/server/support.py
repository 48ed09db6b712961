"""A real `mastery serve` on loopback for tests: a JWKS server with its own RSA keys,
signed Canvas-shaped events, the server in a thread or a subprocess, raw sockets."""

from __future__ import annotations

import contextlib
import http.server
import os
import queue
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://live-events.canvas.instructure.com"
CLIENT = httpx.Client(timeout=30)
"""One client for the tests (making one costs ~50 ms: its TLS context)."""
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Key:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def make(cls, kid: str) -> Key:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    @property
    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: Any, *, iss: str | None = ISSUER, **headers: Any) -> bytes:
        if isinstance(claims, dict) and iss is not None:
            claims = {**claims, "iss": iss}
        if not isinstance(claims, dict):  # PyJWT signs objects only: sign bytes by hand
            return (
                jwt.PyJWS()
                .encode(
                    orjson.dumps(claims), self.private, algorithm="RS256", headers={"kid": self.kid}
                )
                .encode()
            )
        algorithm = headers.pop("alg", "RS256")
        return jwt.encode(
            claims, self.private, algorithm=algorithm, headers={"kid": self.kid, **headers}
        ).encode()


class JwksServer:
    """A JWKS endpoint on loopback whose key set a test changes at will."""

    def __init__(self, keys: list[Key]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.down = False
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if owner.down:
                    self.send_error(503)
                    return
                body = orjson.dumps({"keys": [key.jwk for key in owner.keys]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if CLIENT.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"no server at {base}")


@contextlib.contextmanager
def server_in_thread(store_dir: Path | str, **settings: Any) -> Iterator[Any]:
    """LiveEventsApp under uvicorn in a thread; yields (base URL, the app)."""
    from replay.server.app import LiveEventsApp, ServerSettings
    from replay.server.run import build_server
    from replay.service import MasteryService

    mastery = MasteryService.open(str(store_dir), create=True)
    live = LiveEventsApp(ServerSettings(mastery=mastery, **settings))
    port = free_port()
    server = build_server(live, port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        yield base, live
    finally:
        server.should_exit = True
        thread.join(60)


class ServeProcess:
    """`mastery serve` in a subprocess (for SIGKILL and SIGTERM)."""

    def __init__(self, store: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable,
            "-m",
            "replay",
            "serve",
            "--store",
            store,
            "--port",
            str(self.port),
            *args,
        ]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        # Read stderr as it comes (the access log: a line per POST): a pipe nobody
        # reads fills up and blocks the server's event loop in its next log line.
        self._stderr: deque[bytes] = deque(maxlen=STDERR_LINES)
        self._reader = threading.Thread(
            target=_drain, args=(self.process.stderr, self._stderr), daemon=True
        )
        self._reader.start()
        try:
            wait_until_up(self.base)
        except TimeoutError:
            self.process.kill()
            self.process.wait()
            raise TimeoutError(self._stderr_text()) from None
        return self

    def _stderr_text(self) -> str:
        self._reader.join(10)
        return b"".join(self._stderr).decode(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self._reader.join(10)

    def terminate(self, timeout: float = 60) -> tuple[int, str]:
        """(exit code, the last lines of stderr)."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout)
        return self.process.returncode, self._stderr_text()


STDERR_LINES = 2_000


def _drain(stream: Any, lines: deque[bytes]) -> None:
    for line in stream:
        lines.append(line)
    stream.close()


def raw_request(port: int, head: bytes, body: bytes = b"", *, read_timeout: float = 10.0) -> int:
    """Send bytes as they are and return the status of the answer (0: none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
    if not answer.startswith(b"HTTP/1.1 "):
        return 0
    return int(answer.split(b" ", 2)[1])


class Clients:
    """Canvas-like senders: each event is retried until it gets a 2xx; a ledger."""

    def __init__(
        self, lines: list[bytes], bases: list[str], threads: int = 8, pause: float = 0.0
    ) -> None:
        self.pause = pause
        """Seconds each sender waits after a 2xx: a load that lasts."""
        self.todo: queue.Queue[bytes] = queue.Queue()
        for line in lines:
            self.todo.put(line)
        self.bases = bases
        self.ledger: list[bytes] = []
        self.failures = 0
        self.statuses: Counter[int] = Counter()
        """Answers by status (0: no answer: refused connection, timeout)."""
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self.remaining = len(lines)

    def start(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self) -> None:
        client = httpx.Client(timeout=20)
        rng = random.Random()
        while True:
            with self._lock:
                if self.remaining == 0:
                    return
            try:
                line = self.todo.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                answer = client.post(f"{rng.choice(self.bases)}/events", content=line)
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            ok = status == 200
            with self._lock:
                self.statuses[status] += 1
                if ok:
                    self.ledger.append(line)
                    self.remaining -= 1
                else:
                    self.failures += 1
            if not ok:
                self.todo.put(line)
                time.sleep(0.05)
            elif self.pause:
                time.sleep(self.pause)

    def snapshot(self) -> tuple[Counter[int], int]:
        """(answers by status so far, events acknowledged so far)."""
        with self._lock:
            return Counter(self.statuses), len(self.ledger)

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)
