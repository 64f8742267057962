"""Target ARNs to sinks: the one place that knows which kind of destination an ARN names.

A new kind of target is a sink module plus one branch here.
"""

from __future__ import annotations

from streams.arns import LOCAL_CLUSTER, TargetRef
from streams.router.clusters import Clusters
from streams.router.delivery import Sink, Unroutable
from streams.router.kafka_sink import KafkaTopicSink
from streams.topics import TopicNames


class KafkaDestinations:
    """Every destination a worker has is a Kafka topic on some cluster: a bus's topic, a user's
    topic, the queue of HTTP deliveries (`busbar.deliveries`), a function's topic (whose agent runs
    the handler), or a retry topic."""

    def __init__(self, clusters: Clusters, topics: TopicNames) -> None:
        self._clusters = clusters
        self._topics = topics
        self._dead_letters: dict[str, KafkaTopicSink] = {}
        self._retries: dict[int, KafkaTopicSink] = {}

    def sink(self, ref: TargetRef) -> Sink:
        if ref.kind == "bus":
            return self._clusters.sink(LOCAL_CLUSTER, self._topics.bus(ref.name))
        if ref.kind == "api-destination":
            return self._clusters.sink(LOCAL_CLUSTER, self._topics.deliveries)
        if ref.kind == "function":
            return self._clusters.sink(LOCAL_CLUSTER, self._topics.function(ref.name))
        try:
            return self._clusters.sink(ref.cluster, ref.name)
        except KeyError:
            raise Unroutable(f"unknown Kafka cluster {ref.cluster!r} (not in BUSBAR_CLUSTERS)") from None

    def bus_dead_letters(self, bus: str) -> Sink:
        sink = self._dead_letters.get(bus)
        if sink is None:
            sink = self._dead_letters[bus] = self._clusters.internal(self._topics.dlq(bus))
        return sink

    def retries(self, tier: int) -> Sink:
        sink = self._retries.get(tier)
        if sink is None:
            sink = self._retries[tier] = self._clusters.internal(self._topics.retry(tier))
        return sink

    def poll(self, timeout: float) -> None:
        self._clusters.poll(timeout)
