"""Processes beside the workers that each run one of a worker's jobs alone (`busbar api`,
`busbar deliver`): a plain asyncio process with the configuration read from the config topic, that
one subsystem, and /health and /metrics on an aiohttp server of its own.

A worker does everything in one process, so whatever it does shares one GIL with its router;
moving a job into processes of its own gives it cores of its own. The port is bound with
SO_REUSEPORT (Faust's web server cannot), so several processes of one kind share it and the kernel
spreads connections over them; each /health answer says its pid, so a caller can tell them apart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from aiohttp import web

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

# The process's job: its subsystem (which requires the config service) and any routes it serves.
Build = Callable[[Settings, TopicNames, ConfigService, web.UrlDispatcher], Subsystem]


def run(settings: Settings, command: str, build: Build, processes: int) -> int:
    """Serves until SIGTERM or SIGINT; with several processes, until one of them exits (then 1).
    `command` is the busbar subcommand that runs one such process."""
    if processes <= 1:
        asyncio.run(serve(settings, command, build))
        return 0
    return _supervise(command, processes)


async def serve(settings: Settings, command: str, build: Build) -> None:
    """One process on settings.host:settings.port until SIGTERM/SIGINT. It binds the port only
    once its subsystem is ready: on a shared port the kernel hands new connections to every
    process bound there, and one still loading would hold them until it is ready."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    topics = TopicNames(settings.topic_prefix)
    config = ConfigService(ConfigStore(settings.kafka_bootstrap, topics.config, settings.write_timeout_s))
    app = web.Application()
    job = build(settings, topics, config, app.router)
    _add_pages(app, settings, (config, job))
    runner = web.AppRunner(app, access_log=None)
    try:
        await job.start()  # starts the config service first: the job requires it
        settle_garbage_collector()
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port, reuse_port=True).start()
        print(f"busbar {command}: process {os.getpid()} serving http://{settings.host}:{settings.port}",
              flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()  # closes the socket first, so the kernel sends new connections elsewhere
        await job.stop()
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


def _supervise(command: str, processes: int) -> int:
    """N single processes (`busbar COMMAND --processes 1`, same environment) on the shared port;
    a signal stops them all, and so does one of them exiting, since the others then do less."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    children = [spawn([sys.executable, "-m", "streams", command, "--processes", "1"], env=dict(os.environ))
                for _ in range(processes)]
    try:
        while not stop.wait(0.5):
            for child in children:
                if child.poll() is not None:
                    print(f"busbar {command}: process {child.pid} exited with {child.returncode}; "
                          "stopping the others", file=sys.stderr, flush=True)
                    return 1
        return 0
    finally:
        for child in children:
            stop_process(child, STOP_TIMEOUT_S)
