"""`busbar api`: the EventBridge API in processes of its own, beside the workers.

A worker serves the API on Faust's web server, in the process that also routes, delivers and
schedules, so ingest shares one GIL with all of that. An API process is a plain aiohttp server
running the same API (streams.api.server: the configuration read from the config topic, the
PutEvents producer, SigV4, the size limits) and nothing else: it produces to the bus topics and
the workers' routers take the events from there. It binds its port with SO_REUSEPORT (Faust's
web server cannot), so several API processes share one port and the kernel spreads incoming
connections over them: ingest scales with cores.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Sequence

from aiohttp import web

from streams.api.server import add_routes
from streams.api.server import build as build_api
from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.embedded_kafka import spawn, stop_process
from streams.health import KafkaProbe, health_report
from streams.heap import settle_garbage_collector
from streams.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from streams.metrics import render as render_metrics
from streams.settings import Settings
from streams.subsystem import Subsystem
from streams.topics import TopicNames

STOP_TIMEOUT_S = 10.0


def run(settings: Settings, processes: int) -> int:
    """Serves until SIGTERM or SIGINT; with several processes, until one of them exits (then 1)."""
    if processes <= 1:
        asyncio.run(serve(settings))
        return 0
    return _supervise(processes)


async def serve(settings: Settings) -> None:
    """One API process on settings.host:settings.port until SIGTERM/SIGINT. It binds the port only
    once the configuration is loaded: on a shared port the kernel hands new connections to every
    process bound there, and one still loading would hold them until it is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    topics = TopicNames(settings.topic_prefix)
    config = ConfigService(ConfigStore(settings.kafka_bootstrap, topics.config, settings.write_timeout_s))
    server = build_api(settings, topics, config)
    app = web.Application()
    add_routes(app.router, server)
    _add_pages(app, settings, (config, server))
    runner = web.AppRunner(app, access_log=None)
    try:
        await server.start()  # starts the config service first: the API requires it
        settle_garbage_collector()
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port, reuse_port=True).start()
        print(f"busbar api: process {os.getpid()} serving http://{settings.host}:{settings.port}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()  # closes the socket first, so the kernel sends new connections elsewhere
        await server.stop()
        await config.stop()


def _add_pages(app: web.Application, settings: Settings, subsystems: Sequence[Subsystem]) -> None:
    probe = KafkaProbe(settings.kafka_bootstrap)

    async def health(_request: web.Request) -> web.Response:
        kafka_ok, detail = await probe.reachable()
        waiting = [type(s).__name__ for s in subsystems if not s.is_ready]
        status, body = health_report(kafka_ok, detail, True, waiting)
        return web.json_response({**body, "pid": os.getpid()}, status=status)

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=render_metrics(), headers={"Content-Type": METRICS_CONTENT_TYPE})

    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)


def _supervise(processes: int) -> int:
    """N single API processes (`busbar api --processes 1`, same environment) on the shared port;
    a signal stops them all, and so does one of them exiting, since the port then serves less."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    children = [spawn([sys.executable, "-m", "streams", "api", "--processes", "1"], env=dict(os.environ))
                for _ in range(processes)]
    try:
        while not stop.wait(0.5):
            for child in children:
                if child.poll() is not None:
                    print(f"busbar api: process {child.pid} exited with {child.returncode}; stopping the others",
                          file=sys.stderr, flush=True)
                    return 1
        return 0
    finally:
        for child in children:
            stop_process(child, STOP_TIMEOUT_S)
