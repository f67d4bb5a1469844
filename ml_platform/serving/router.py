"""The local stand-in for a Kubernetes Service: one stable port in front of whichever version serves.

A small HTTP/1.1 reverse proxy on asyncio. Each request goes to the upstream named in the deployment
record (``deployment.json``, re-read when it changes), so the deployer switches traffic by replacing
the record; requests already in flight finish on the old upstream, which the deployer stops only
after the router has moved. Predictions have no side effects, so a request whose pooled upstream
connection turns out to be closed is sent again once on a fresh connection. The router also ends
the grace period of the record's warm standby version: it is the one long-lived process that reads the
record, so it stops the standby once ``standby_until`` has passed.

Run as ``python -m ml_platform.serving.router --port P --state-dir D``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

log = logging.getLogger(__name__)

STATUS_PATH = "/-/router"
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024


class _BadRequest(Exception):
    pass


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 message (head, body) framed by Content-Length or chunked encoding."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest("header section too large") from exc
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise _BadRequest("bad Content-Length")
            length = int(value)
            if length > MAX_BODY_BYTES:
                raise _BadRequest(f"body larger than {MAX_BODY_BYTES} bytes")
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return head, await reader.readexactly(length) if length else b""
    parts = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip(), 16)
        data = await reader.readexactly(size + 2)
        parts.append(size_line + data)
        if size == 0:
            return head, b"".join(parts)


def _keeps_alive(head: bytes) -> bool:
    return b"connection: close" not in head.lower()


@dataclass
class Upstream:
    host: str
    port: int
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)

    async def exchange(self, request: bytes) -> tuple[bytes, bytes]:
        """Send one request; if a pooled connection was already closed, drop the pool and retry fresh."""
        pooled = bool(self.idle)
        reader, writer = self.idle.pop() if pooled else await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            head, body = await _read_message(reader)
        except (OSError, asyncio.IncompleteReadError):
            writer.close()
            if not pooled:
                raise
            self.close()  # its siblings were opened to the same process: likely closed too
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(request)
            head, body = await _read_message(reader)
        if _keeps_alive(head):
            self.idle.append((reader, writer))
        else:
            writer.close()
        return head, body

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class Router:
    """Forwards to the upstreams of the current deployment record; switches when the record changes.

    The record's ``url`` takes the traffic; with ``canary_url`` and ``canary_fraction`` set, that
    fraction of requests (drawn per request) goes to the canary version instead.
    """

    def __init__(self, record_path: Path, seed: int | None = None) -> None:
        self.record_path = record_path
        self.primary: Upstream | None = None
        self.canary: Upstream | None = None
        self.canary_fraction = 0.0
        self._stamp: tuple[int, int] | None = None
        self._random = random.Random(seed)

    def _upstream(self, url: str, reuse: list[Upstream | None]) -> Upstream:
        parts = urlsplit(url)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        for upstream in reuse:
            if upstream is not None and (upstream.host, upstream.port) == address:
                return upstream
        return Upstream(*address)

    def _reload(self) -> None:
        record = json.loads(self.record_path.read_text())
        before = [self.primary, self.canary]
        self.primary = self._upstream(record["url"], before)
        self.canary = self._upstream(record["canary_url"], before) if record.get("canary_url") else None
        self.canary_fraction = float(record.get("canary_fraction") or 0.0) if self.canary else 0.0
        for upstream in before:
            if upstream is not None and upstream not in (self.primary, self.canary):
                upstream.close()
        log.info("routing to %s:%s (canary %s, %.0f%%)", self.primary.host, self.primary.port,
                 self.canary and f"{self.canary.host}:{self.canary.port}", 100 * self.canary_fraction)

    def current(self) -> Upstream | None:
        """The upstream for the next request, or None when nothing is deployed."""
        try:
            stat = os.stat(self.record_path)
        except FileNotFoundError:
            self.primary = self.canary = self._stamp = None
            return None
        stamp = (stat.st_mtime_ns, stat.st_ino)
        if stamp != self._stamp:
            self._stamp = stamp
            self._reload()
        if self.canary is not None and self._random.random() < self.canary_fraction:
            return self.canary
        return self.primary

    def status(self) -> dict[str, object]:
        self.current()
        return {"upstream": _url(self.primary), "canary": _url(self.canary), "canary_fraction": self.canary_fraction}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head, body = await _read_message(reader)
                except asyncio.IncompleteReadError:
                    return
                except (_BadRequest, ValueError) as exc:
                    writer.write(_response(400, {"error": f"bad request: {exc}"}))
                    return
                if head.startswith(b"GET " + STATUS_PATH.encode()):
                    writer.write(_response(200, self.status()))
                    await writer.drain()
                    continue
                upstream = self.current()
                if upstream is None:
                    writer.write(_response(503, {"error": "no deployment is serving"}))
                else:
                    try:
                        answer_head, answer_body = await upstream.exchange(head + body)
                    except (OSError, asyncio.IncompleteReadError) as exc:
                        log.warning("upstream %s:%s failed: %r", upstream.host, upstream.port, exc)
                        writer.write(_response(502, {"error": "the serving version did not answer"}))
                    else:
                        writer.write(answer_head + answer_body)
                await writer.drain()
                if not _keeps_alive(head):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


def _url(upstream: Upstream | None) -> str | None:
    return None if upstream is None else f"http://{upstream.host}:{upstream.port}"


def _response(status: int, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


def retire_expired_standby(record_path: Path, now: float | None = None, done: set[int] | frozenset = frozenset()
                           ) -> int:
    """SIGTERM the standby's process group once its grace period is over; returns the pid stopped, or 0.

    ``done`` holds pids already stopped, so a pid the system reuses later is never signalled.
    """
    try:
        record = json.loads(record_path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return 0
    pid = int(record.get("standby_pid") or 0)
    if not pid or pid in done or (now or time.time()) < float(record.get("standby_until") or 0):
        return 0
    try:
        os.killpg(pid, signal.SIGTERM)  # bentoml serve runs in its own session: its workers go with it
    except (ProcessLookupError, PermissionError):
        return 0
    log.info("grace period over: stopped standby v%s (pid %d)", record.get("standby_version"), pid)
    return pid


async def _retire_standbys(record_path: Path, every_s: float) -> None:
    done: set[int] = set()
    while True:
        await asyncio.sleep(every_s)
        done.add(retire_expired_standby(record_path, done=done))


async def serve(port: int, record_path: Path, standby_check_s: float = 5.0) -> None:
    router = Router(record_path)
    server = await asyncio.start_server(router.handle, "127.0.0.1", port, limit=MAX_HEAD_BYTES, backlog=1024)
    log.info("router on 127.0.0.1:%d, following %s", port, record_path)
    reaper = asyncio.create_task(_retire_standbys(record_path, standby_check_s))
    try:
        async with server:
            await server.serve_forever()
    finally:
        reaper.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    uvloop.run(serve(args.port, args.state_dir / "deployment.json"))


if __name__ == "__main__":
    main()
