"""`busbar api`: the EventBridge API in processes of its own, beside the workers.

A worker serves the API on Faust's web server, in the process that also routes, delivers and
schedules, so ingest shares one GIL with all of that. An API process (streams/side_process.py)
runs the same API (streams.api.server: the configuration read from the config topic, the
PutEvents producer, SigV4, the size limits) and nothing else: it produces to the bus topics and
the workers' routers take the events from there. Several API processes share one port and the
kernel spreads incoming connections over them: ingest scales with cores.
"""

from __future__ import annotations

from aiohttp import web

from streams.api.server import add_routes
from streams.api.server import build as build_api
from streams.config_service import ConfigService
from streams.settings import Settings
from streams.side_process import run as run_side
from streams.subsystem import Subsystem
from streams.topics import TopicNames


def run(settings: Settings, processes: int) -> int:
    """Serves until SIGTERM or SIGINT; with several processes, until one of them exits (then 1)."""
    return run_side(settings, "api", _build, processes)


def _build(settings: Settings, topics: TopicNames, config: ConfigService, router: web.UrlDispatcher) -> Subsystem:
    server = build_api(settings, topics, config)
    add_routes(router, server)
    return server
