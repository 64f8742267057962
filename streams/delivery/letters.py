"""Dead letters of HTTP deliveries: the headers that say why a delivery was given up, and the
way back from a dead letter to a delivery (what `busbar dlq redrive` sends again).

The value is the body that was to be sent. The headers carry the rule, the target, the
attempts, the last status or error (an excerpt of the endpoint's answer at most) and the
first and last attempt times, plus the delivery record without its payload
(`busbar-delivery`), which holds the target as it was configured; a connection's credentials
are never part of a delivery, so none can reach a dead-letter queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import orjson

from streams.arns import LOCAL_CLUSTER, parse_target_arn
from streams.jobs import Job
from streams.settings import Settings
from streams.topics import DEAD_LETTER_TOPIC_CONFIG, TopicNames, ensure_topics

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
DELIVERY_HEADER = "busbar-delivery"
ERROR_MAX = 512


class DeadLetterTopics:
    """Creates a dead-letter topic (with dead-letter room) the first time a letter goes to it;
    a blocking admin call, so it runs off the event loop, once per topic and process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ensured: set[str] = set()

    async def ensure(self, topic: str) -> None:
        if topic not in self._ensured:
            settings = self._settings
            await asyncio.get_running_loop().run_in_executor(None, lambda: ensure_topics(
                settings.kafka_bootstrap, {topic: DEAD_LETTER_TOPIC_CONFIG}, partitions=settings.partitions,
                replication=settings.replication))
            self._ensured.add(topic)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dead_letter_topic(job: Job, topics: TopicNames) -> str:
    """The target's DeadLetterConfig topic (of this cluster), else its bus's DLQ."""
    arn = (job.target.get("DeadLetterConfig") or {}).get("Arn")
    if arn:
        try:
            ref = parse_target_arn(arn)
            if ref.kind == "topic" and ref.cluster == LOCAL_CLUSTER:
                return ref.name
        except ValueError:
            pass
        log.error("dead-letter ARN %s is not a topic of this cluster; using the bus DLQ", arn)
    return topics.dlq(str(job.record.get("bus") or "default"))


def dead_letter_headers(job: Job, reason: str, status: int) -> Headers:
    record = job.record
    described = {k: v for k, v in record.items() if k not in ("payload", "due_ms")}
    described["timestamp_ms"] = job.timestamp_ms
    headers: Headers = [
        ("busbar-rule", str(record.get("rule", "")).encode()),
        ("busbar-bus", str(record.get("bus", "")).encode()),
        ("busbar-target", str(job.target.get("Arn", "")).encode()),
        ("busbar-target-id", str(job.target.get("Id", "")).encode()),
        ("busbar-attempt", str(job.attempts).encode()),
        ("busbar-error", reason[:ERROR_MAX].encode()),
        (DELIVERY_HEADER, orjson.dumps(described)),
    ]
    if status:
        headers.append(("busbar-status", str(status).encode()))
    if "event_id" in record:
        headers.append(("busbar-event-id", str(record["event_id"]).encode()))
    if "schedule" in record:  # a Scheduler schedule's firing: the header its own dead letters carry
        headers.append(("busbar-schedule", str(record["schedule"]).encode()))
    if "first_ms" in record:
        headers.append(("busbar-first-attempt", iso(int(record["first_ms"])).encode()))
        headers.append(("busbar-last-attempt", iso(int(record["last_ms"])).encode()))
    return headers


def delivery_from_letter(headers: dict[str, bytes], value: bytes) -> bytes | None:
    """A fresh delivery record (no attempts yet, its age counted from now) for a dead letter of
    an HTTP delivery; None for any other dead letter."""
    described = headers.get(DELIVERY_HEADER)
    if described is None:
        return None
    record = orjson.loads(described)
    for key in ("attempt", "first_ms", "last_ms", "last_error", "timestamp_ms"):
        record.pop(key, None)
    record["payload"] = value.decode("utf-8", "replace")
    record["redriven"] = True
    return orjson.dumps(record)
