"""A small closed-loop HTTP/1.1 load generator on asyncio streams (keep-alive, 127.0.0.1 only).

It pre-encodes every request and parses only the status line and Content-Length, so on a 2-core
machine it spends a fraction of what the server under test spends per request (httpx spends more
than the server). Bounded by time and, optionally, by a request count; optionally paced to a rate.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0  # connection failures and non-2xx answers
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    first_errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float | int | dict[int, int]]:
        lat = np.array(self.latencies_s or [float("nan")]) * 1000
        return {
            "requests": self.requests,
            "errors": self.errors,
            "statuses": self.statuses,
            "seconds": round(self.elapsed_s, 2),
            "rps": round(self.requests / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(lat.max()), 2),
        }


def encode_post(port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
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


async def _connection(port: int, requests: itertools.cycle, result: LoadResult, stop_at: float,
                      budget: list[int], interval_s: float | None, until: threading.Event | None) -> None:
    reader = writer = None
    next_send = time.perf_counter()
    while time.perf_counter() < stop_at and budget[0] > 0 and not (until is not None and until.is_set()):
        budget[0] -= 1
        if interval_s is not None:
            next_send += interval_s
            delay = next_send - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(next(requests))
            status = await _read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            result.errors += 1
            result.requests += 1
            if len(result.first_errors) < 5:
                result.first_errors.append(repr(exc))
            if writer is not None:
                writer.close()
            reader = writer = None
            continue
        result.latencies_s.append(time.perf_counter() - started)
        result.requests += 1
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if not 200 <= status < 300:
            result.errors += 1
    if writer is not None:
        writer.close()


async def run_load(port: int, path: str, bodies: list[bytes], *, connections: int = 16,
                   duration_s: float = 10.0, max_requests: int | None = None,
                   rate_per_s: float | None = None, until: threading.Event | None = None) -> LoadResult:
    """``connections`` keep-alive clients POSTing ``bodies`` in turn until time or count runs out.

    With ``rate_per_s`` each connection paces itself to an equal share of that rate (an open-ish
    loop for soak runs); without it every connection sends its next request as soon as it may.
    ``until`` stops the load early from another thread (a test's load during a deploy).
    """
    requests = itertools.cycle([encode_post(port, path, body) for body in bodies])
    result = LoadResult()
    budget = [max_requests if max_requests is not None else 1 << 62]
    interval = connections / rate_per_s if rate_per_s else None
    started = time.perf_counter()
    stop_at = started + duration_s
    await asyncio.gather(*(_connection(port, requests, result, stop_at, budget, interval, until)
                           for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    return result
