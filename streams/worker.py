"""A busbar worker built from its settings: the Faust app and the subsystems it runs.

Each subsystem declares what it requires (streams/subsystem.py) and subscribes to the
configuration it needs; adding one (a scheduler, connectors) is one more
subsystem here, not a new place in an import order.
"""

from __future__ import annotations

import faust

from streams.api.server import install as install_api
from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.connect import install as install_connectors
from streams.correlation.service import CorrelationService
from streams.delivery.service import DeliveryService
from streams.faust_consumer import RewindingTransport
from streams.functions.service import FunctionService
from streams.health import KafkaProbe, health_report
from streams.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from streams.metrics import render as render_metrics
from streams.replay.service import ReplayService
from streams.router.service import RouterService
from streams.scheduler.service import SchedulerService
from streams.secret_box import SecretBox
from streams.settings import Settings
from streams.subsystem import Subsystem
from streams.topics import TopicNames

FAUST_SESSION_TIMEOUT_S = 10.0
FAUST_HEARTBEAT_S = 1.0


def create_app(settings: Settings) -> faust.App:
    """The worker's app; SystemExit with the fix when no Kafka is configured."""
    if not settings.kafka_bootstrap:
        raise SystemExit("busbar worker: no Kafka configured: set BUSBAR_KAFKA_BOOTSTRAP "
                         "(or use `busbar up`, which starts a broker)")
    try:
        SecretBox(settings.secret_key)
    except ValueError as exc:
        raise SystemExit(f"busbar worker: {exc}") from None
    topics = TopicNames(settings.topic_prefix)
    datadir = settings.data_dir / "faust" / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)  # Faust makes only the last level
    app = faust.App(
        settings.app_id,
        broker=";".join(f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")),
        web_host=settings.host,
        web_port=settings.port,
        web_bind=settings.host,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        store="memory://",
        # Faust's default, "<app id>-data" in the working directory, littered wherever a worker ran.
        datadir=str(datadir),
        autodiscover=False,
        # Faust's own consumer group (its agents and tables: the correlation windows) settles only
        # once a crashed predecessor's session has expired: Faust's default of 60 s kept a
        # restarted worker's Faust side (and its windows) waiting a minute; 10 s bounds that.
        # (Faust's static membership is not used: its assignor asserts that a returning member
        # kept its web URL, and crashed the worker when the port had changed.)
        broker_session_timeout=FAUST_SESSION_TIMEOUT_S,
        broker_heartbeat_interval=FAUST_HEARTBEAT_S,
        # Faust waits, before a rebalance completes, for every event its agents have taken to be
        # acknowledged; a function's invocation may run for minutes, and while it did the whole
        # group stalled (members timed out, a worker crashed in recovery). Not waiting is safe:
        # an event acknowledged too late is not committed and is handled again by its partition's
        # new owner (at least once), and the correlation windows count an event id once.
        stream_wait_empty=False,
    )
    # Rereads what Faust drops in a rebalance from partitions with no committed offset yet.
    app.transport = RewindingTransport(app.conf.broker_consumer, app)
    config = ConfigService(ConfigStore(settings.kafka_bootstrap, topics.config, settings.write_timeout_s))
    router = RouterService(settings, config)
    api = install_api(app, settings=settings, topics=topics, config=config)
    connectors = install_connectors(app, settings=settings, topics=topics, config=config, api=api)
    scheduler = SchedulerService(settings, config)
    correlation = CorrelationService(app, settings, config)
    functions = FunctionService(app, settings, config)
    subsystems: list[Subsystem] = [config, router, api, connectors, ReplayService(settings, config), scheduler,
                                   correlation, functions]
    if settings.worker_delivery:  # else delivery processes (`busbar deliver`) deliver
        subsystems.append(DeliveryService(settings, config))
    for subsystem in subsystems:
        # Started with the app itself, not once Faust's consumer group has settled (app.service):
        # none of them reads through Faust, and a worker restarted after a crash then routes and
        # answers at once instead of waiting out its dead predecessor's session in that group.
        # (Correlation's windows are a Faust table read by a Faust agent, which Faust starts itself
        # once that group has settled; its feed, the subsystem here, needs none of it.)
        app.add_dependency(subsystem)
    _install_pages(app, settings, subsystems)
    return app


def _install_pages(app: faust.App, settings: Settings, subsystems: list[Subsystem]) -> None:
    kafka_probe = KafkaProbe(settings.kafka_bootstrap)

    @app.page("/health")
    async def health(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        kafka_ok, detail = await kafka_probe.reachable()
        running = bool(app.started) and not app.should_stop and not app.crashed
        waiting = [type(s).__name__ for s in subsystems if not s.is_ready]
        status, body = health_report(kafka_ok, detail, running, waiting)
        return web.json(body, status=status)

    @app.page("/metrics")
    async def metrics(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        # As a header: aiohttp refuses a content_type argument that names a charset.
        return web.bytes(render_metrics(), headers={"Content-Type": METRICS_CONTENT_TYPE})
