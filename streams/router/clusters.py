"""Producers for every Kafka cluster a target may name.

Targets name a cluster in their Kafka topic ARN (`topic/<cluster>/<topic>`); `local` is the
cluster the worker runs on, the others come from BUSBAR_CLUSTERS
(`name=host:port,host:port;name2=host:port`). The set is fixed for the life of a worker, so
a target naming an unknown cluster can be refused once, when the rule is compiled.
"""

from __future__ import annotations

from confluent_kafka import Producer

from streams.arns import LOCAL_CLUSTER
from streams.router.kafka_sink import KafkaTopicSink
from streams.topics import DEAD_LETTER_MAX_BYTES

# The broker's default largest record (message.max.bytes), which is what a target topic created
# with defaults accepts: a shaped record larger than this is dead-lettered with its event
# before it is sent, rather than refused by the broker.
TARGET_MAX_BYTES = 1_048_588
# Room for a dead letter's headers (the reason, the rule, the target) beside the largest record.
HEADERS_ROOM_BYTES = 65_536

# acks=all with idempotence: a target record counts as delivered (and lets its input offset be
# committed) only once every in-sync replica has it, without duplicates from the producer's own
# retries. message.timeout.ms bounds one produce attempt; a target that fails it is parked
# for a retry (router/outbox.py).
# linger.ms comes from BUSBAR_ROUTER_LINGER_MS: target records are keyed by event id, so they
# spread over every partition of every target topic, and with librdkafka's 5 ms default a
# batch held ~4 records at 16,000 events/s; the broker's cost is per batch, and at 20 ms it
# spent ~30 % less CPU per routed event (bench/pipeline.py, README "Benchmarks").
# partitioner: the Java client's (murmur2 of the key), so a target topic keyed by event id puts
# a key where a Java producer would; librdkafka's own default hashes differently.
PRODUCER_CONFIG: dict[str, object] = {
    "partitioner": "murmur2_random",
    "acks": "all",
    "enable.idempotence": True,
    "message.timeout.ms": 5000,
    "queue.buffering.max.messages": 1_000_000,
    "queue.buffering.max.kbytes": 1_048_576,
    # Any record a bus topic holds must fit in a dead letter, whatever the bus topic allows
    # (the broker's default is ~1 MB, and a user may raise it per topic): the client's own
    # default (1,000,000) refused a ~1 MB bus record's dead letter before it was sent.
    "message.max.bytes": DEAD_LETTER_MAX_BYTES + HEADERS_ROOM_BYTES,
    "log_level": 3,
}


class Clusters:
    """One producer per cluster, created when a target first needs it and kept for the worker's life."""

    def __init__(self, local_bootstrap: str, others: dict[str, str], *, linger_ms: int) -> None:
        self._bootstrap = {LOCAL_CLUSTER: local_bootstrap, **others}
        self._config = {**PRODUCER_CONFIG, "linger.ms": linger_ms}
        self._producers: dict[str, Producer] = {}
        self.producer(LOCAL_CLUSTER)  # always needed (dead letters), and poll() waits on it

    @property
    def local(self) -> Producer:
        return self.producer(LOCAL_CLUSTER)

    def producer(self, cluster: str) -> Producer:
        """KeyError for a cluster BUSBAR_CLUSTERS does not name."""
        producer = self._producers.get(cluster)
        if producer is None:
            producer = Producer({"bootstrap.servers": self._bootstrap[cluster], **self._config})
            self._producers[cluster] = producer
        return producer

    def sink(self, cluster: str, topic: str, max_bytes: int = TARGET_MAX_BYTES) -> KafkaTopicSink:
        """KeyError for a cluster BUSBAR_CLUSTERS does not name."""
        return KafkaTopicSink(self.producer(cluster), topic, max_bytes)

    def internal(self, topic: str) -> KafkaTopicSink:
        """A dead-letter or retry topic of this cluster's (created with room for DEAD_LETTER_MAX_BYTES)."""
        return self.sink(LOCAL_CLUSTER, topic, DEAD_LETTER_MAX_BYTES + HEADERS_ROOM_BYTES)

    def poll(self, timeout: float) -> None:
        """Serve delivery reports: the local cluster's waiting up to timeout, the others' without waiting."""
        for name, producer in self._producers.items():
            producer.poll(timeout if name == LOCAL_CLUSTER else 0)
