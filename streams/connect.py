"""The connectors (package `connectors`) as one worker subsystem, wired to what they may use.

Connectors reach the rest of busbar only through Kafka topics and the configuration, so this
is the one place that hands them the pieces of the worker they need: the PutEvents producer
(to write bus topics, answered on Kafka's acknowledgement), the clusters BUSBAR_CLUSTERS
names, the consumer group protocol, and the API's SigV4 check for their REST API.
"""

from __future__ import annotations

import faust
from aiohttp import web

from connectors.assignment import TASK_PARTITIONS, TaskAssignment
from connectors.plugin import Environment
from connectors.rest import Authenticate, ConnectRest
from connectors.runtime import ConnectorRuntime
from connectors.status import StatusBoard
from connectors.webhook_endpoint import WebhookEndpoint
from connectors.webhooks.dedupe import DEDUPE_TOPIC_CONFIG, KafkaSeenIds
from streams.api import sigv4
from streams.api.errors import ApiError
from streams.api.server import ApiServer
from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.groups import GROUP_PROTOCOLS
from streams.kafka_clusters import parse_clusters
from streams.settings import Settings
from streams.topics import TopicNames, ensure_topics


def connect_topics(topics: TopicNames) -> tuple[str, str, str]:
    """(tasks, status, dedupe): the topics the connectors keep their state in."""
    return f"{topics.prefix}.connect-tasks", f"{topics.prefix}.connect-status", f"{topics.prefix}.connect-dedupe"


def install(app: faust.App, *, settings: Settings, topics: TopicNames, config: ConfigService,
            api: ApiServer) -> ConnectorRuntime:
    tasks_topic, status_topic, dedupe_topic = connect_topics(topics)
    ensure_topics(settings.kafka_bootstrap, {status_topic: {"cleanup.policy": "compact"},
                                             dedupe_topic: DEDUPE_TOPIC_CONFIG},
                  partitions=1, replication=settings.replication)
    ensure_topics(settings.kafka_bootstrap, {tasks_topic: {}}, partitions=TASK_PARTITIONS,
                  replication=settings.replication)
    dedupe = ConfigStore(settings.kafka_bootstrap, dedupe_topic, settings.write_timeout_s)
    status = StatusBoard(ConfigStore(settings.kafka_bootstrap, status_topic, settings.write_timeout_s))
    group_config = GROUP_PROTOCOLS[settings.group_protocol]
    env = Environment(
        bootstrap=settings.kafka_bootstrap, topics=topics, region=settings.region, account=settings.account,
        worker_id=f"{settings.host}:{settings.port}", app_id=settings.app_id,
        clusters=parse_clusters(settings.clusters), group_config=group_config, publisher=api.sink,
        seen_ids=KafkaSeenIds(dedupe), bus_exists=lambda bus: config.store.model.bus(bus) is not None,
    )
    # The API is required for its bus producer, which it starts.
    runtime = ConnectorRuntime(config, env, status, stores=(dedupe,), requires=(api,))
    runtime.attach(TaskAssignment(settings.kafka_bootstrap, tasks_topic, f"{settings.app_id}-connect",
                                  group_config, runtime.on_assignment))
    router = app.web.web_app.router
    ConnectRest(runtime, config.store, _authenticator(api, settings)).add_routes(router)
    WebhookEndpoint(runtime).add_routes(router)
    return runtime


def _authenticator(api: ApiServer, settings: Settings) -> Authenticate | None:
    credentials = api.credentials
    if credentials is None:
        return None

    def authenticate(request: web.Request, body: bytes) -> None:
        try:
            sigv4.verify(request.method, request.rel_url.raw_path, request.rel_url.raw_query_string,
                         request.headers, body, credentials, region=settings.region)
        except ApiError as exc:
            raise PermissionError(f"{exc.code}: {exc.message}") from None
    return authenticate
