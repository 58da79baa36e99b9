"""A small HTTP/1.1 keep-alive load generator on asyncio streams.

Fast enough that, on this machine, the client is not what limits the services it measures
(it sends prebuilt requests and reads responses by Content-Length).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(np.asarray(self.latencies) * 1000, q)) if self.latencies else 0.0


def request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
    ]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _worker(
    host: str, port: int, payload: bytes, stop_at: float, limit: int | None, run: Run
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at and (limit is None or run.requests < limit):
            t = time.perf_counter()
            writer.write(payload)
            await writer.drain()
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                run.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            run.latencies.append(time.perf_counter() - t)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if status >= 400:
                run.errors += 1
    finally:
        writer.close()


async def _load(
    host: str, port: int, payload: bytes, concurrency: int, seconds: float, limit: int | None
) -> Run:
    run = Run()
    start = time.perf_counter()
    await asyncio.gather(
        *(_worker(host, port, payload, start + seconds, limit, run) for _ in range(concurrency))
    )
    run.seconds = time.perf_counter() - start
    return run


def load(
    url: str,
    path: str,
    body: bytes,
    concurrency: int,
    seconds: float,
    limit: int | None = None,
    headers: dict[str, str] | None = None,
) -> Run:
    """Keep ``concurrency`` requests in flight for ``seconds`` (or ``limit`` requests)."""
    host, port = url.removeprefix("http://").split(":")
    payload = request_bytes(host, int(port), path, body, headers or {})
    return asyncio.run(_load(host, int(port), payload, concurrency, seconds, limit))
