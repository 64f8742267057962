"""A failed invocation's way on: parked in a retry topic until due, or dead-lettered with the reason.

The record travelling is the router's delivery record (streams/jobs.py `Job`), the
same as for HTTP targets, so one retry path serves both: a parked invocation waits in the
retry tier of its backoff (`<prefix>.retry.<n>s`), whence the delivery service hands it back
to the function's topic when it is due. A dead letter carries the event as the handler was
to get it, with the headers HTTP deliveries' dead letters carry (rule, bus, target, attempts,
`busbar-error` holding the exception's type and message).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from streams.delivery.letters import Headers, dead_letter_headers, dead_letter_topic
from streams.delivery.retries import backoff_s, tier_for
from streams.jobs import Job, now_ms
from streams.settings import Settings
from streams.topics import DEAD_LETTER_TOPIC_CONFIG, TopicNames, ensure_topics

Send = Callable[[str, bytes, bytes | None, Headers], Awaitable[None]]


class Retries:
    def __init__(self, settings: Settings, send: Send) -> None:
        self._settings = settings
        self._topics = TopicNames(settings.topic_prefix)
        self._send = send
        self._ensured: set[str] = set()

    def next_due_ms(self, job: Job) -> int | None:
        """When the failed job may be tried again; None when its retry policy allows no more."""
        if job.attempts >= job.max_attempts:
            return None
        due = now_ms() + int(1000 * backoff_s(job.attempts))
        return None if due - job.timestamp_ms > job.max_age_ms else due

    async def park(self, job: Job, due_ms: int) -> None:
        job.park(due_ms)
        await self._send(self._topics.retry(tier_for((due_ms - now_ms()) / 1000)), job.encode(), None, [])

    async def dead_letter(self, job: Job, reason: str) -> None:
        topic = dead_letter_topic(job, self._topics)
        if topic not in self._ensured:
            settings = self._settings
            await asyncio.get_running_loop().run_in_executor(None, lambda: ensure_topics(
                settings.kafka_bootstrap, {topic: DEAD_LETTER_TOPIC_CONFIG}, partitions=settings.partitions,
                replication=settings.replication))
            self._ensured.add(topic)
        await self._send(topic, job.payload, None, dead_letter_headers(job, reason, 0))
