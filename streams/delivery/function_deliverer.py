"""Functions as a kind of target: a job that is due again goes back to its function's topic.

The delivery service never runs a handler: the function's agent (streams/functions) does, and
parks a failed invocation's job in a retry topic itself. When the job is due, this hands it,
attempts counted so far included, back to the function's topic through the Kafka deliverer,
and the agent invokes the handler again. Whether the function still exists is the agent's to
say (it dead-letters with the reason), so there is one place that decides it.
"""

from __future__ import annotations

from streams.arns import TargetRef
from streams.delivery.deliverer import Attempt
from streams.delivery.kafka_deliverer import KafkaDeliverer
from streams.jobs import Job
from streams.topics import TopicNames


class FunctionDeliverer:
    def __init__(self, topics: TopicNames, kafka: KafkaDeliverer) -> None:
        self._topics = topics
        self._kafka = kafka

    async def start(self) -> None:
        """Nothing: the Kafka deliverer it sends through is the service's own, started by it."""

    async def close(self) -> None:
        """Nothing: see start."""

    def prepare(self, job: Job, ref: TargetRef) -> Attempt:
        event_id = job.record.get("event_id")
        record = Job.for_record(target=job.target, bus=str(job.record.get("bus", "")),
                                rule=str(job.record.get("rule", "")), value=job.encode(),
                                key=None if event_id is None else str(event_id).encode(), headers=[],
                                timestamp_ms=job.timestamp_ms)
        return self._kafka.prepare(record, TargetRef("topic", self._topics.function(ref.name)))
