"""A real HTTP server on 127.0.0.1 with scripted answers, for the delivery tests (no tests here).

It runs aiohttp in a thread of its own, records every request it gets, and answers each with
what its script says: a status, a body, headers, a delay, or a dropped connection.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


Script = Callable[[Received], Answer]


class Endpoint:
    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda request: Answer())
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def __enter__(self) -> Endpoint:
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        assert started.wait(10), "endpoint did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        started.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(request.method, request.path, dict(request.query), dict(request.headers),
                            await request.read(), time.monotonic())
        with self._lock:
            self.requests.append(received)
        answer = self.script(received)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.drop:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    def received(self, path_prefix: str = "/") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def wait_for(self, count: int, path_prefix: str = "/", timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path_prefix)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        got = len(self.received(path_prefix))
        raise AssertionError(f"{got} of {count} requests to {path_prefix} arrived within {timeout}s")
