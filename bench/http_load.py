"""A lean closed-loop HTTP/1.1 load generator for the ingest benchmark.

On a 2-core machine the load generator shares the cores with the server it measures, so what
it spends per request is taken from the server. aiohttp's client cost about as much CPU per
request as the server's own handling; this one keeps only what a measurement needs: N
keep-alive connections (asyncio protocols), each sending its next request as soon as the last
answer is in, the requests prepared as bytes in advance. Every answer is read in full (headers
and a Content-Length body) and checked: its status, and for a 200 the body is decoded as JSON
and handed to `failed_entries`, which says how many of the request's entries failed. Latency
is measured per request, from writing it to having its whole answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

HEAD_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


@dataclass
class Tally:
    """What the connections saw while timing was on."""

    timing: bool = False
    requests: int = 0
    failed_requests: int = 0
    failed_entries: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class BadAnswer(Exception):
    """An answer this client cannot read as HTTP/1.1 with a Content-Length."""


def request_bytes(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 keep-alive request, exactly as written on the connection."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()
              if name.lower() not in ("host", "content-length", "connection")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def answer_length(head: bytes) -> tuple[int, int]:
    """(status, body length) from an answer's status line and headers."""
    if not head.startswith(b"HTTP/1.1 "):
        raise BadAnswer(f"not an HTTP/1.1 answer: {head[:40]!r}")
    lowered = head.lower()
    at = lowered.find(CONTENT_LENGTH)
    if at < 0:
        raise BadAnswer(f"answer without Content-Length: {head[:200]!r}")
    end = lowered.find(b"\r\n", at + 2)
    return int(head[9:12]), int(head[at + len(CONTENT_LENGTH):end if end >= 0 else len(head)])


class _Connection(asyncio.Protocol):
    """One client: its requests in turn, one in flight, until `stop_at`."""

    def __init__(self, requests: list[bytes], first: int, step: int, stop_at: float, tally: Tally,
                 failed_entries: Callable[[object], int], entries: int) -> None:
        self.requests, self.next, self.step, self.stop_at = requests, first, step, stop_at
        self.tally, self.failed_entries, self.entries = tally, failed_entries, entries
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.expect: tuple[int, int, int] | None = None  # (status, head length, body length)
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        request = self.requests[self.next % len(self.requests)]
        self.next += self.step
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            if self.expect is None:
                head_end = self.buffer.find(HEAD_END)
                if head_end < 0:
                    return
                status, length = answer_length(self.buffer[:head_end])
                self.expect = (status, head_end + len(HEAD_END), length)
            status, head, length = self.expect
            if len(self.buffer) < head + length:
                return
            if len(self.buffer) > head + length:
                raise BadAnswer("more bytes than the answer's Content-Length")
            self.settle(status, self.buffer[head:])
        except Exception as exc:  # a broken answer ends this client; the bench reports it
            self.finish(f"{type(exc).__name__}: {exc}")
            return
        self.buffer, self.expect = b"", None
        if time.monotonic() < self.stop_at:
            self.send()
        else:
            self.finish(None)

    def settle(self, status: int, body: bytes) -> None:
        elapsed = time.perf_counter() - self.started
        tally = self.tally
        failed = self.entries if status != 200 else self.failed_entries(orjson.loads(body))
        if not tally.timing:
            return
        tally.latencies.append(elapsed)
        tally.requests += 1
        if failed:
            tally.failed_requests += 1
            tally.failed_entries += failed

    def finish(self, error: str | None) -> None:
        if error is not None:
            self.tally.errors.append(error)
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.tally.errors.append(f"connection lost mid-run: {exc}")
            self.done.set_result(None)


@dataclass(frozen=True)
class Load:
    """`clients` connections to host:port, cycling through `requests` (each of `entries` entries)."""

    host: str
    port: int
    requests: list[bytes]
    clients: int
    entries: int
    failed_entries: Callable[[object], int]

    async def run(self, warmup_s: float, seconds: float, on_timing: Callable[[], None]) -> tuple[Tally, float]:
        """The tally of the `seconds` after `warmup_s`, and the timed seconds; `on_timing` is
        called as timing starts (to take the server's CPU reading)."""
        loop = asyncio.get_running_loop()
        tally = Tally()
        stop_at = time.monotonic() + warmup_s + seconds
        connections = []
        for first in range(self.clients):
            _, connection = await loop.create_connection(
                lambda first=first: _Connection(self.requests, first, self.clients, stop_at, tally,
                                                self.failed_entries, self.entries), self.host, self.port)
            connections.append(connection)
        await asyncio.sleep(warmup_s)
        tally.timing, started = True, time.monotonic()
        on_timing()
        await asyncio.gather(*(connection.done for connection in connections))
        return tally, time.monotonic() - started
