"""Producers for every Kafka cluster a target may name.

Targets name a cluster in their Kafka topic ARN (`topic/<cluster>/<topic>`); `local` is the
cluster the worker runs on, the others come from BUSBAR_CLUSTERS
(`name=host:port,host:port;name2=host:port`). The set is fixed for the life of a worker, so
a target naming an unknown cluster can be refused once, when the rule is compiled.
"""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Producer

from streams.arns import LOCAL_CLUSTER

# acks=all with idempotence: a target record counts as delivered (and lets its input offset be
# committed) only once every in-sync replica has it, without duplicates from the producer's own
# retries. message.timeout.ms bounds one produce attempt (see outbox.INLINE_MAX_RETRIES).
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
    "log_level": 3,
}


def produce_when_room(producer: Producer, topic: str, value: bytes, key: bytes | None,
                      headers: list[tuple[str, bytes]] | None, on_delivery: Callable[..., None]) -> None:
    """Produce, waiting while the producer's local queue is full (serving delivery reports
    frees it): a record refused here would otherwise leave its batch waiting forever."""
    while True:
        try:
            producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)


def parse_clusters(spec: str) -> dict[str, str]:
    """`name=bootstrap;...` as a dict; ValueError naming the malformed entry."""
    clusters: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        name, sep, bootstrap = entry.partition("=")
        name, bootstrap = name.strip(), bootstrap.strip()
        if not sep or not name or not bootstrap:
            raise ValueError(f"BUSBAR_CLUSTERS entry {entry!r} is not name=host:port[,host:port]")
        if name == LOCAL_CLUSTER:
            raise ValueError(f"BUSBAR_CLUSTERS may not redefine {LOCAL_CLUSTER!r}, the worker's own cluster")
        clusters[name] = bootstrap
    return clusters


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

    def poll(self, timeout: float) -> None:
        """Serve delivery reports: the local cluster's waiting up to timeout, the others' without waiting."""
        for name, producer in self._producers.items():
            producer.poll(timeout if name == LOCAL_CLUSTER else 0)
