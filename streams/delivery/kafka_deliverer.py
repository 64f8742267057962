"""Kafka topics as a kind of target (a user's topic on this or another cluster, or an event
bus's topic): the job's payload produced as a record with the job's key and headers, counted
delivered once every in-sync replica has it.

A cluster's producer is made when a job first needs it. A cluster that cannot be reached then
(it is down: the very case retries are for) fails that attempt, retriably, and the next
attempt tries to connect again.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, KafkaTimeoutError, UnknownTopicOrPartitionError

from streams.arns import LOCAL_CLUSTER, TargetRef
from streams.delivery.deliverer import Attempt, Undeliverable
from streams.delivery.retries import Outcome
from streams.jobs import Job
from streams.kafka_clusters import parse_clusters
from streams.settings import Settings
from streams.topics import TopicNames

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16 * 1024 * 1024


def failed(exc: BaseException) -> Outcome:
    """A failed produce as an Outcome: retriable unless Kafka says it will fail the same way
    again (a record too large, a topic that does not exist: EventBridge gives up on a target
    that does not exist too)."""
    if isinstance(exc, UnknownTopicOrPartitionError):
        return Outcome(False, error=f"Kafka: {type(exc).__name__}", retriable=False)
    transient = isinstance(exc, (KafkaTimeoutError, TimeoutError, OSError))
    retriable = transient or bool(getattr(exc, "retriable", False))
    return Outcome(False, error=f"Kafka: {type(exc).__name__}: {exc}"[:300], retriable=retriable)


class KafkaDeliverer:
    def __init__(self, settings: Settings) -> None:
        self._bootstrap = {LOCAL_CLUSTER: settings.kafka_bootstrap, **parse_clusters(settings.clusters)}
        self._topics = TopicNames(settings.topic_prefix)
        self._timeout_s = settings.delivery_timeout_s
        self._producers: dict[str, AIOKafkaProducer] = {}
        self._connecting: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Nothing yet: a cluster's producer is made when a job first goes there."""

    async def close(self) -> None:
        for producer in self._producers.values():
            await producer.stop()
        self._producers.clear()

    def prepare(self, job: Job, ref: TargetRef) -> Attempt:
        if ref.kind == "bus":
            cluster, topic = LOCAL_CLUSTER, self._topics.bus(ref.name)
        elif ref.cluster in self._bootstrap:
            cluster, topic = ref.cluster, ref.name
        else:
            raise Undeliverable(f"unknown Kafka cluster {ref.cluster!r} (not in BUSBAR_CLUSTERS)")

        async def send() -> Outcome:
            try:
                producer = await self._producer(cluster)
                sent = producer.send_and_wait(topic, job.payload, key=job.key, headers=job.headers,
                                              timestamp_ms=job.record_ms)
                await asyncio.wait_for(sent, self._timeout_s)
            except (KafkaError, TimeoutError, OSError) as exc:
                return failed(exc)
            return Outcome(True)

        return Attempt(f"{cluster}/{topic}", send)

    async def _producer(self, cluster: str) -> AIOKafkaProducer:
        async with self._connecting.setdefault(cluster, asyncio.Lock()):
            producer = self._producers.get(cluster)
            if producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap[cluster], acks="all",
                                            enable_idempotence=True, max_request_size=MAX_REQUEST_BYTES,
                                            request_timeout_ms=int(self._timeout_s * 1000))
                try:
                    await asyncio.wait_for(producer.start(), self._timeout_s)
                except BaseException:
                    await producer.stop()
                    raise
                self._producers[cluster] = producer
            return producer
