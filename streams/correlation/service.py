"""The correlation subsystem: the feed thread, and a Faust agent keeping windows in a Faust table.

The table has a changelog topic (Faust's `<app id>-correlation-windows-changelog`), which is
where the windows survive a restart: the worker's store is memory, and on start Faust reads
the changelog of the partitions it is assigned back into it before the agent runs again.
Partitions of the table are the correlation topic's, so a group's window moves with the
group's partition when workers come and go. Derived events and changelog writes go through
the app's producer, which Faust flushes before committing the agent's offsets: a worker
killed mid-window reads again only what it had not yet made durable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from streams.config_service import ConfigService
from streams.correlation.correlator import Correlator
from streams.correlation.feed import Feed
from streams.correlation.rulebook import RuleBook
from streams.envelope import encode_json
from streams.loop_thread import LoopThreadSubsystem
from streams.settings import Settings
from streams.topics import CORRELATION_TABLE, TopicNames


class CorrelationService(LoopThreadSubsystem):
    """Ready once the feed has the correlation rules as of start."""

    ready_when_started = False
    thread_name = "busbar-correlation-feed"

    def __init__(self, app: faust.App, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._settings = settings
        self._topics = TopicNames(settings.topic_prefix)
        self._rules = RuleBook()
        self._app = app
        self._bus_topics: dict[str, faust.TopicT] = {}
        # Keys are text (raw bytes in the changelog), values JSON: the app's default serializers.
        table = app.Table(CORRELATION_TABLE, default=None, partitions=settings.partitions, key_type=str)
        self._correlator = Correlator(self._rules, table, account=settings.account, region=settings.region)
        source = app.topic(self._topics.correlation, key_serializer="raw", value_serializer="json",
                           partitions=settings.partitions)
        app.agent(source, name=f"{settings.app_id}.correlation")(self._correlate)

    async def _correlate(self, stream: faust.StreamT) -> None:
        async for event in stream.events():
            for bus, derived in self._correlator.observe(event.message.partition, event.value):
                await self._bus_topic(bus).send(key=derived["id"].encode(), value=encode_json(derived))

    def _bus_topic(self, bus: str) -> faust.TopicT:
        topic = self._bus_topics.get(bus)
        if topic is None:
            topic = self._bus_topics[bus] = self._app.topic(self._topics.bus(bus), key_serializer="raw",
                                                            value_serializer="raw")
        return topic

    def run_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        Feed(self._settings, self._topics, self._rules, self._changes, self._stopping,
             lambda: loop.call_soon_threadsafe(self.set_ready)).run()
