"""The Faust app every busbar worker runs (`busbar worker`, or `faust -A streams.app worker`).

Settings come from the environment (see streams.settings) because Faust builds the app at
import time, before any command-line parsing of ours could run.
"""

from __future__ import annotations

import asyncio

import faust
import mode

from streams.api.server import install as install_api
from streams.config_store import ConfigStore
from streams.health import KafkaProbe, health_report
from streams.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from streams.metrics import render as render_metrics
from streams.router.service import RouterService
from streams.settings import Settings
from streams.topics import TopicNames

settings = Settings.from_env()
if not settings.kafka_bootstrap:
    raise SystemExit(
        "busbar worker: no Kafka configured: set BUSBAR_KAFKA_BOOTSTRAP (or use `busbar up`, which starts a broker)"
    )

topics = TopicNames(settings.topic_prefix)

app = faust.App(
    settings.app_id,
    broker=";".join(f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")),
    web_host=settings.host,
    web_port=settings.port,
    web_bind=settings.host,
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication,
    store="memory://",
    autodiscover=False,
)

kafka_probe = KafkaProbe(settings.kafka_bootstrap)
config_store = ConfigStore(settings.kafka_bootstrap, topics.config)


@app.service
class ConfigService(mode.Service):
    """Loads the whole configuration before the worker reports ready, and keeps following it."""

    async def on_start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, config_store.start)

    async def on_stop(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, config_store.stop)


# Created here, at import, so that it hears every config record from the first one.
router = app.service(RouterService(settings, config_store))
# The EventBridge API (POST /); after the config service, whose model it answers from.
api = install_api(app, settings=settings, topics=topics, config_store=config_store)


@app.page("/health")
async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    kafka_ok, detail = await kafka_probe.reachable()
    running = bool(app.started) and not app.should_stop and not app.crashed
    status, body = health_report(kafka_ok, detail, running)
    return web.json(body, status=status)


@app.page("/metrics")
async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    # As a header: aiohttp refuses a content_type argument that names a charset.
    return web.bytes(render_metrics(), headers={"Content-Type": METRICS_CONTENT_TYPE})
