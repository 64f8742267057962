"""A failed invocation's way on: parked in a retry topic until due, or dead-lettered with the reason.

The record travelling is the router's delivery record (streams/jobs.py `Job`), the
same as for HTTP targets, so one retry path serves both: a parked invocation waits in the
retry tier of its backoff (`<prefix>.retry.<n>s`), whence the delivery service hands it back
to the function's topic when it is due. A dead letter carries the event as the handler was
to get it, with the headers HTTP deliveries' dead letters carry (rule, bus, target, attempts,
`busbar-error` holding the exception's type and message).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from streams.delivery.letters import DeadLetterTopics, Headers, dead_letter_headers, dead_letter_topic
from streams.jobs import Job
from streams.settings import Settings
from streams.topics import TopicNames

Send = Callable[[str, bytes, bytes | None, Headers], Awaitable[None]]


class Retries:
    def __init__(self, settings: Settings, send: Send) -> None:
        self._topics = TopicNames(settings.topic_prefix)
        self._send = send
        self._dead_letter_topics = DeadLetterTopics(settings)

    async def park_or_why_not(self, job: Job, error: str) -> str | None:
        """After a failed attempt (noted on the job): parked in the retry tier of its backoff, or,
        when its RetryPolicy allows no more, why it is given up."""
        tier = job.retry_or_why_not(error)
        if isinstance(tier, str):
            return tier
        await self._send(self._topics.retry(tier), job.encode(), None, [])
        return None

    async def dead_letter(self, job: Job, reason: str) -> None:
        topic = dead_letter_topic(job, self._topics)
        await self._dead_letter_topics.ensure(topic)
        await self._send(topic, job.payload, None, dead_letter_headers(job, reason, 0))
