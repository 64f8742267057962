"""Topic names and their creation: the one place that knows how busbar lays out Kafka."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka.admin import AdminClient, NewTopic

from streams.settings import Settings

# Dead-letter topics keep any record a bus topic may hold, with the reason beside it, so they
# are created with more room than a bus topic's default (~1 MB); 16 MiB stays well inside the
# broker's largest request (socket.request.max.bytes, 100 MiB by default).
DEAD_LETTER_MAX_BYTES = 16 * 1024 * 1024
DEAD_LETTER_TOPIC_CONFIG = {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}


@dataclass(frozen=True)
class TopicNames:
    prefix: str = "busbar"

    def bus(self, bus: str) -> str:
        return f"{self.prefix}.bus.{bus}"

    def dlq(self, bus: str) -> str:
        return f"{self.prefix}.dlq.{bus}"

    @property
    def bus_pattern(self) -> str:
        """Regex subscription (librdkafka's ^ form) that also picks up buses created later."""
        return "^" + self.prefix.replace(".", r"\.") + r"\.bus\..+"

    @property
    def config(self) -> str:
        return f"{self.prefix}.config"

    @property
    def deliveries(self) -> str:
        return f"{self.prefix}.deliveries"

    def retry(self, tier_s: int) -> str:
        """Where failed HTTP deliveries wait about `tier_s` seconds before they are tried again."""
        return f"{self.prefix}.retry.{tier_s}s"

    def bus_of(self, topic: str) -> str | None:
        head = f"{self.prefix}.bus."
        return topic[len(head):] if topic.startswith(head) else None


def ensure_topics(bootstrap: str, topics: dict[str, dict[str, str]], *, partitions: int, replication: int,
                  timeout: float = 30.0) -> None:
    """Create missing topics; existing ones are left as they are (their owner may have tuned them)."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    existing = set(admin.list_topics(timeout=timeout).topics)
    new = [NewTopic(name, num_partitions=(1 if cfg.get("cleanup.policy") == "compact" else partitions),
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
    """The topics every worker needs before it starts: config, deliveries and the default bus."""
    names = TopicNames(settings.topic_prefix)
    ensure_topics(
        settings.kafka_bootstrap,
        {
            names.config: {"cleanup.policy": "compact"},
            names.deliveries: {},
            names.bus("default"): {},
            names.dlq("default"): DEAD_LETTER_TOPIC_CONFIG,
        },
        partitions=settings.partitions,
        replication=settings.replication,
    )
