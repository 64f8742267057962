"""Topic names and their creation: the one place that knows how busbar lays out Kafka."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from streams.retry_schedule import TIERS_S
from streams.settings import Settings

# Dead-letter topics keep any record a bus topic may hold, with the reason beside it, so they
# are created with more room than a bus topic's default (~1 MB); 16 MiB stays well inside the
# broker's largest request (socket.request.max.bytes, 100 MiB by default).
DEAD_LETTER_MAX_BYTES = 16 * 1024 * 1024
DEAD_LETTER_TOPIC_CONFIG = {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}
# The correlation windows' Faust table; Faust names its changelog topic after the app and the table.
CORRELATION_TABLE = "correlation-windows"


def changelog(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


@dataclass(frozen=True)
class TopicNames:
    prefix: str = "busbar"

    def bus(self, bus: str) -> str:
        return f"{self.prefix}.bus.{bus}"

    def dlq(self, bus: str) -> str:
        return f"{self.prefix}.dlq.{bus}"

    def replay(self, bus: str) -> str:
        """Where replays put a bus's events back: beside the bus topic rather than in it, so a
        replay of millions of events never queues ahead of live events in the bus's partitions,
        and the router knows a replayed record by its topic alone (router/dispatch.py)."""
        return f"{self.prefix}.replay.{bus}"

    def archive(self, name: str) -> str:
        return f"{self.prefix}.archive.{name}"

    @property
    def replays(self) -> str:
        """StartReplay's requests, claimed by the workers' replay consumer group (one runs each)."""
        return f"{self.prefix}.replays"

    @property
    def bus_pattern(self) -> str:
        """Regex subscription (librdkafka's ^ form) to every bus topic and replay topic, which
        also picks up those created later."""
        return "^" + self.prefix.replace(".", r"\.") + r"\.(bus|replay)\..+"

    @property
    def config(self) -> str:
        return f"{self.prefix}.config"

    @property
    def deliveries(self) -> str:
        return f"{self.prefix}.deliveries"

    @property
    def scheduled(self) -> str:
        """Scheduled rules' events, keyed <bus>/<rule>: the router sends each to that rule's targets only."""
        return f"{self.prefix}.scheduled"

    @property
    def schedule_state(self) -> str:
        """Compacted, one partition per unit of schedule ownership: what each schedule last fired."""
        return f"{self.prefix}.schedule-state"

    @property
    def correlation(self) -> str:
        """Events matching a correlation rule, keyed by rule and group, for the windows' agent."""
        return f"{self.prefix}.correlation"

    def function(self, name: str) -> str:
        """A function's invocations, consumed by the workers' agent for that function."""
        return f"{self.prefix}.function.{name}"

    def function_of(self, topic: str) -> str | None:
        """The function whose topic this is; None for any other topic."""
        head = f"{self.prefix}.function."
        return topic[len(head):] if topic.startswith(head) else None

    def retry(self, tier_s: int) -> str:
        """Where failed deliveries (of every kind of target) wait about `tier_s` seconds before they are
        tried again; created with a dead-letter topic's room, since a parked job holds its event."""
        return f"{self.prefix}.retry.{tier_s}s"

    def bus_of(self, topic: str) -> tuple[str, bool] | None:
        """(bus, replayed) of a bus or replay topic; None for any other topic."""
        for kind, replayed in (("bus", False), ("replay", True)):
            head = f"{self.prefix}.{kind}."
            if topic.startswith(head):
                return topic[len(head):], replayed
        return None


def ensure_topics(bootstrap: str, topics: dict[str, dict[str, str]], *, partitions: int, replication: int,
                  timeout: float = 30.0, partitioned: Collection[str] = ()) -> None:
    """Create missing topics; existing ones are left as they are (their owner may have tuned them).

    A compacted topic gets one partition (the config topic's order is its partition's), unless
    named in `partitioned` (a table's changelog, the scheduler's state: partitioned as their owners)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    existing = set(admin.list_topics(timeout=timeout).topics)
    single = {name for name, cfg in topics.items() if cfg.get("cleanup.policy") == "compact"} - set(partitioned)
    new = [NewTopic(name, num_partitions=(1 if name in single else partitions),
                    replication_factor=replication, config=cfg)
           for name, cfg in topics.items() if name not in existing]
    if not new:
        return
    for name, fut in admin.create_topics(new, operation_timeout=timeout).items():
        try:
            fut.result()
        except Exception as exc:  # KafkaException wraps the broker's error code
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"could not create topic {name}: {exc}") from exc


def ensure_internal_topics(settings: Settings) -> None:
    """The topics every worker needs before it starts: config, deliveries, the retry tiers,
    replay requests, the default bus, the scheduler's (its state topic has as many partitions as the others: its unit
    of ownership), and correlation's.

    The correlation table's changelog too: Faust would create it at start, but an agent that
    writes to the table before the worker's metadata has caught up with the new topic crashes
    (PartitionsMismatch: "the changelog topic has 0 partitions"); one that exists beforehand is
    in the metadata from the start."""
    names = TopicNames(settings.topic_prefix)
    windows_changelog = changelog(settings.app_id, CORRELATION_TABLE)
    ensure_topics(
        settings.kafka_bootstrap,
        {
            names.config: {"cleanup.policy": "compact"},
            names.deliveries: {},
            names.replays: {},
            names.correlation: {},
            windows_changelog: {"cleanup.policy": "compact"},
            names.bus("default"): {},
            names.dlq("default"): DEAD_LETTER_TOPIC_CONFIG,
            names.scheduled: {},
            **{names.retry(tier): DEAD_LETTER_TOPIC_CONFIG for tier in TIERS_S},
            names.schedule_state: {"cleanup.policy": "compact"},
        },
        partitions=settings.partitions,
        replication=settings.replication,
        partitioned={names.schedule_state, windows_changelog},
    )


def retention_config(days: int) -> dict[str, str]:
    """A topic's retention for EventBridge's RetentionDays (0: forever)."""
    return {"retention.ms": str(days * 86_400_000 if days else -1)}


def alter_topic(bootstrap: str, topic: str, config: dict[str, str], timeout: float = 30.0) -> None:
    """Set these configs of an existing topic, leaving its others as they are."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET) for name, value in config.items()])
    for fut in admin.incremental_alter_configs([resource], request_timeout=timeout).values():
        fut.result()


def delete_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> None:
    """Delete a topic; one that does not exist (any more) is no error."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    for fut in admin.delete_topics([topic], operation_timeout=timeout).values():
        try:
            fut.result()
        except Exception as exc:  # KafkaException wraps the broker's error code
            if "UNKNOWN_TOPIC_OR_PART" not in str(exc):
                raise
