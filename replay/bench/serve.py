"""Benchmark of `mastery serve`: concurrent loopback clients posting signed events.

    python -m replay.bench.serve [--events 20000] [--clients 64] [--offered 500]
                                 [--offered-seconds 30] [--workdir DIR]

1. Generates a dump (`mastery generate`), signs every event RS256 with a key of a
   JWKS served on loopback (signing is done up front, in a process pool).
2. Starts `mastery serve --jwks-url ...` in a subprocess on a fresh store.
3. Saturation: `--clients` keep-alive connections post the first part of the events
   as fast as the server answers: sustained events/s, p50/p99 answer latency, and
   the CPU time per event of the server (its process and its children: verifying,
   appending, following) and of the clients (this process), since on a 2-core
   machine both share the cores.
4. Offered load: the rest at `--offered` events/s: p50/p99 latency at that rate.
5. The server's RSS, sampled every second: at the start, after the saturation
   phase, at the start, middle and end of the offered phase (the figure to watch
   for growth: the offered phase is the long one), and its peak (VmHWM); the peak
   of its children's summed RSS (the read-model follower's process) beside it.
6. `mastery replay` of the same dump into another fresh store, on the same machine,
   in the same run: its events/s beside the server's.

Prints a JSON report. A plain script, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from replay.bench import proc

ISSUER = "https://live-events.canvas.instructure.com"
_PRIVATE_KEY: Any = None


def _init_signer(pem: bytes) -> None:
    """Load the key once per worker: PyJWT given PEM bytes parses them on every call."""
    global _PRIVATE_KEY
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    _PRIVATE_KEY = load_pem_private_key(pem, password=None)


def _sign(lines: list[bytes]) -> list[bytes]:
    import jwt

    return [
        jwt.encode(
            {**orjson.loads(line), "iss": ISSUER},
            _PRIVATE_KEY,
            algorithm="RS256",
            headers={"kid": "bench"},
        ).encode()
        for line in lines
    ]


def _jwks_server(jwk: dict[str, Any]) -> tuple[http.server.ThreadingHTTPServer, str]:
    body = orjson.dumps({"keys": [jwk]})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/jwks"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tree_cpu_seconds(pid: int) -> float:
    return proc.cpu_seconds(pid) + sum(proc.cpu_seconds(child) for child in proc.children(pid))


class _RssSampler:
    """The server's VmRSS every `interval` seconds, in a thread: (seconds, kB), and the
    sum over its children (the follower process) beside it."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.children: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic() - self._started
            self.samples.append((at, proc.rss_kb(self.pid, "VmRSS")))
            self.children.append(
                (at, sum(proc.rss_kb(child, "VmRSS") for child in proc.children(self.pid)))
            )
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self) -> float:
        return time.monotonic() - self._started

    def between(self, start: float, end: float, *, children: bool = False) -> list[int]:
        series = self.children if children else self.samples
        return [kb for at, kb in series if start <= at <= end]


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


async def _post_all(
    port: int, tokens: list[bytes], clients: int, rate: float | None
) -> tuple[list[float], dict[int, int], float]:
    """Post every token over `clients` keep-alive connections; (latencies, statuses, s)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
    started = time.perf_counter()
    for index, token in enumerate(tokens):
        due = started + index / rate if rate else started
        queue.put_nowait((token, due))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                try:
                    token, due = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                sent = time.perf_counter()
                writer.write(
                    b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"
                    % len(token)
                    + token
                )
                status_line = await reader.readline()
                length = 0
                while True:
                    header = await reader.readline()
                    if header in (b"\r\n", b""):
                        break
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - max(sent, due))
                status = int(status_line.split()[1])
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, time.perf_counter() - started


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] if ordered else 0.0


def _tenths(samples: list[int]) -> dict[str, Any]:
    """Growth over a phase: the max of its first, middle and last tenth of samples."""
    tenth = max(len(samples) // 10, 1)
    first = max(samples[:tenth])
    middle = max(samples[len(samples) // 2 :][:tenth])
    last = max(samples[-tenth:])
    return {
        "first_tenth_max": _mb(first),
        "middle_tenth_max": _mb(middle),
        "last_tenth_max": _mb(last),
        "growth_percent": round(100 * (last - first) / first, 1) if first else 0.0,
        "every_minute": [_mb(kb) for kb in samples[::60]],  # one sample a second
    }


def _rss_report(
    sampler: _RssSampler,
    start: int,
    after_saturation: int,
    end: int,
    peak: int,
    offered_from: float,
    offered_to: float,
) -> dict[str, Any]:
    """RSS through the run; over the offered phase by tenths, the server's own process
    and its children (the follower) apart."""
    offered = sampler.between(offered_from, offered_to) or [end]
    children = sampler.between(offered_from, offered_to, children=True) or [0]
    return {
        "start": _mb(start),
        "after_saturation": _mb(after_saturation),
        "end": _mb(end),
        "peak": _mb(peak),
        "samples_every_s": sampler.interval,
        "offered_server": _tenths(offered),
        "offered_children": _tenths(children),
    }


def _signed_dump(dump: Path, wanted: int) -> tuple[list[bytes], list[bytes], dict[str, Any]]:
    """A generated dump of about `wanted` events: its lines, each signed, and the JWK."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    from replay.synthetic.generate import GeneratorSettings, write_dump

    students = max(wanted // 110, 10)
    with dump.open("wb") as out:
        write_dump(GeneratorSettings(students=students, results_per_student=100, seed=1), out)
    lines = [line for line in dump.read_bytes().splitlines() if line.strip()]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "bench", "use": "sig"}
    print(f"signing {len(lines):,} events ...", file=sys.stderr)
    chunks = [lines[i : i + 1000] for i in range(0, len(lines), 1000)]
    with ProcessPoolExecutor(os.cpu_count(), initializer=_init_signer, initargs=(pem,)) as pool:
        tokens = [token for signed in pool.map(_sign, chunks) for token in signed]
    return lines, tokens, jwk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events for the saturation run")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--offered", type=float, default=500.0, help="events/s, second phase")
    parser.add_argument("--offered-seconds", type=float, default=30.0)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="mastery-bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    dump = work / "dump.jsonl"
    lines, tokens, jwk = _signed_dump(dump, args.events + int(args.offered * args.offered_seconds))

    jwks, jwks_url = _jwks_server(jwk)
    port = _free_port()
    store = work / "served"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "replay", "serve", "--store", str(store)),
            *("--port", str(port), "--jwks-url", jwks_url, "--issuer", ISSUER),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        sampler = _RssSampler(server.pid)
        rss_start = proc.rss_kb(server.pid, "VmRSS")
        saturation = tokens[: args.events]
        offered = tokens[args.events : args.events + int(args.offered * args.offered_seconds)]
        server_cpu, client_cpu = _tree_cpu_seconds(server.pid), proc.own_cpu_seconds()
        lat_sat, st_sat, secs_sat = asyncio.run(_post_all(port, saturation, args.clients, None))
        server_cpu = _tree_cpu_seconds(server.pid) - server_cpu
        client_cpu = proc.own_cpu_seconds() - client_cpu
        rss_after_saturation = proc.rss_kb(server.pid, "VmRSS")
        offered_from = sampler.mark()
        lat_off, st_off, secs_off = asyncio.run(
            _post_all(port, offered, args.clients, args.offered)
        )
        offered_to = sampler.mark()
        rss_end = proc.rss_kb(server.pid, "VmRSS")
        rss_peak = proc.rss_kb(server.pid, "VmHWM")
        sampler.stop()
    finally:
        server.terminate()
        server.wait(60)
        jwks.shutdown()

    replay_started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "replay", "replay", "--store", str(work / "replayed"), str(dump)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    replay_seconds = time.perf_counter() - replay_started
    report = {
        "events_in_dump": len(lines),
        "clients": args.clients,
        "saturation": {
            "events": len(saturation),
            "statuses": st_sat,
            "events_per_second": round(len(saturation) / secs_sat, 1),
            "p50_ms": round(_percentile(lat_sat, 0.5) * 1000, 1),
            "p99_ms": round(_percentile(lat_sat, 0.99) * 1000, 1),
            "server_cpu_us_per_event": round(server_cpu / len(saturation) * 1e6, 1),
            "client_cpu_us_per_event": round(client_cpu / len(saturation) * 1e6, 1),
        },
        "offered": {
            "rate": args.offered,
            "events": len(offered),
            "statuses": st_off,
            "achieved_per_second": round(len(offered) / secs_off, 1) if secs_off else 0,
            "p50_ms": round(_percentile(lat_off, 0.5) * 1000, 1),
            "p99_ms": round(_percentile(lat_off, 0.99) * 1000, 1),
        },
        "server_rss_mb": _rss_report(
            sampler, rss_start, rss_after_saturation, rss_end, rss_peak, offered_from, offered_to
        ),
        "replay_of_the_dump": {
            "events": len(lines),
            "seconds": round(replay_seconds, 2),
            "events_per_second": round(len(lines) / replay_seconds, 1),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
