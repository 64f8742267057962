"""The router's loop: consume a batch, dispatch it, commit it once it has settled.

It runs in a thread of its own inside the Faust worker, started and stopped as a mode
Service, because the loop is blocking librdkafka calls end to end (a batching consumer and
producer), which is what lets one worker route tens of thousands of events a second where a
Faust agent stops near 4,000 events/s. Batches are pipelined: the loop reads and produces
the next batch while earlier ones await their acknowledgements, and commits a batch's
offsets only once it and every batch before it have settled (see outbox), so a crash at any
point re-routes what was not committed: at least once, never lost.
Config changes arrive from the config subscription through a queue and are applied
between batches, so a batch sees one consistent rule set and a change lands within a batch
or one idle poll (POLL_S), well inside a second.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.arns import archive_arn, kafka_topic_arn, rule_arn
from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.groups import group_config
from streams.heap import settle_garbage_collector
from streams.kafka_clusters import parse_clusters
from streams.loop_thread import LoopThreadSubsystem
from streams.metrics import CONSUMER_LAG
from streams.model import Change
from streams.router.archives import ArchiveTarget
from streams.router.clusters import Clusters
from streams.router.delivery import Destinations
from streams.router.destinations import KafkaDestinations
from streams.router.dispatch import Dispatcher
from streams.router.ledger import Batch
from streams.router.outbox import Outbox, count_settled
from streams.router.rules_index import RulesIndex
from streams.router.targets import Target
from streams.settings import Settings
from streams.topics import TopicNames

log = logging.getLogger(__name__)

# Some costs are per batch and per target the batch touches (a delivery callback, a metrics
# update: a thousand of each with 1,000 rules), so bigger batches spread them thinner. At low
# load a batch is whatever has arrived, so this adds no latency.
BATCH_SIZE = 5000
MAX_EVENTS_IN_FLIGHT = 20_000  # bounds memory and the producers' queues when targets are slow
POLL_S = 0.1  # idle wait for the first record of a batch; bounds how late an idle worker applies a change
REPORT_WAIT_S = 0.005  # idle wait for delivery reports while batches are in flight
COMMIT_INTERVAL_S = 0.2
STOP_DRAIN_S = 10.0
REVOKE_DRAIN_S = 5.0
LAG_INTERVAL_S = 2.0
CONFIG_WAIT_S = 120.0

CONSUMER_CONFIG: dict[str, Any] = {
    "enable.auto.commit": False,
    # A group that has never committed on a bus (a new bus, a first start) routes the bus
    # from its beginning: events put before the worker saw the topic are not skipped.
    "auto.offset.reset": "earliest",
    # Regex subscriptions see topics created later only at a metadata refresh.
    "topic.metadata.refresh.interval.ms": 1000,
    # A fetch returns at 64 KB or after 10 ms: with librdkafka's defaults (1 byte, 500 ms) every
    # produce request on a bus completed a fetch, and at 2,000 events/s those requests were a
    # good part of a co-located broker's CPU. 10 ms is the most this adds to an event's latency.
    "fetch.min.bytes": 65_536,
    "fetch.wait.max.ms": 10,
    "log_level": 3,
}


def consumer_config(settings: Settings) -> dict[str, Any]:
    """The router's consumer settings; ValueError naming a group protocol busbar does not know."""
    return {**group_config(settings, f"{settings.app_id}-router"), **CONSUMER_CONFIG}


class RouterService(LoopThreadSubsystem):
    """Owns the router thread; a crash of the thread crashes the service (and so the worker).
    Ready once the router has its partitions and the rules as of start."""

    ready_when_started = False
    thread_name = "busbar-router"

    def __init__(self, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._settings = settings
        self._topics = TopicNames(settings.topic_prefix)
        # A typo fails the worker at start, not later.
        self._clusters_spec = parse_clusters(settings.clusters)
        consumer_config(settings)

    def run_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        clusters = Clusters(self._settings.kafka_bootstrap, self._clusters_spec, linger_ms=self._settings.router_linger_ms)
        RouterLoop(self._settings, self._topics, self._config.store, KafkaDestinations(clusters, self._topics),
                   self._changes, self._stopping, lambda: loop.call_soon_threadsafe(self.set_ready)).run()


class RouterLoop:
    def __init__(self, settings: Settings, topics: TopicNames, config_store: ConfigStore,
                 destinations: Destinations, changes: queue.SimpleQueue[Change], stopping: threading.Event,
                 on_ready: Callable[[], None] = lambda: None) -> None:
        self._topics = topics
        self._config_store = config_store
        self._changes = changes
        self._stopping = stopping
        self._on_ready = on_ready
        self._destinations = destinations
        self._outbox = Outbox(destinations)
        self._settings = settings
        self._index = RulesIndex(self._compile_target, lambda bus, rule: rule_arn(settings.region, settings.account,
                                                                                 bus, rule), self._archive_target)
        self._dispatcher = Dispatcher(self._index, self._outbox, topics)
        self._consumer = Consumer(consumer_config(settings))
        self._lag_partitions: set[tuple[str, int]] = set()
        self._lag_at = 0.0
        self._settled: dict[tuple[str, int], int] = {}  # settled, not yet committed: next offset per partition
        self._committed: dict[tuple[str, int], int] = {}  # what the group had committed when assigned
        self._committed_at = 0.0

    def _compile_target(self, bus: str, rule: str, arn: str, spec: dict[str, Any]) -> Target:
        return Target(bus=bus, rule=rule, rule_arn=arn, spec=spec, destinations=self._destinations)

    def _archive_target(self, bus: str, archive: str) -> Target:
        settings = self._settings
        spec = {"Id": "archive", "Arn": kafka_topic_arn(settings.region, settings.account, self._topics.archive(archive))}
        return ArchiveTarget(bus=bus, rule=f"archive/{archive}", rule_arn=archive_arn(settings.region, settings.account,
                             archive), spec=spec, destinations=self._destinations)

    def run(self) -> None:
        self._wait_for_config()
        settle_garbage_collector()
        self._consumer.subscribe([self._topics.bus_pattern, self._topics.scheduled], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)
        log.info("router: subscribed to %s with %d rules", self._topics.bus_pattern, len(self._index))
        try:
            while not self._stopping.is_set():
                messages = self._next_batch() if self._outbox.events_in_flight < MAX_EVENTS_IN_FLIGHT else []
                # After the wait for records, not before: a rule written before an event was put
                # reaches the queue while the router waits, and must be in force for that event.
                self._apply_changes()
                if messages:
                    self._dispatcher.dispatch(messages, int(time.time() * 1000))
                # Wait for delivery reports only when there is nothing to read: while records keep
                # coming, reading them overlaps the broker's work on the batches in flight.
                self._settle(self._outbox.poll(0 if messages or not len(self._outbox) else REPORT_WAIT_S))
                self._commit()
                if time.monotonic() - self._lag_at > LAG_INTERVAL_S:
                    self._update_lag()
            self._drain(STOP_DRAIN_S)
        finally:
            self._consumer.close()  # leaves the group at once, so the partitions move without waiting
            self._index.close()

    def _wait_for_config(self) -> None:
        """Route nothing before the rules as of now are loaded: an event matched against a
        half-read config would be committed without reaching targets it should have."""
        _, high = self._consumer.get_watermark_offsets(TopicPartition(self._topics.config, 0), timeout=30.0)
        self._config_store.wait_applied(high - 1, CONFIG_WAIT_S)
        self._apply_changes()
        self._index.wait_built(CONFIG_WAIT_S)

    def _apply_changes(self) -> None:
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                self._index.refresh()
                return
            try:
                self._index.apply(change)
            except Exception:  # a bug on one record must not stop routing for all the others
                log.exception("router: could not apply config change %s", change.key)

    def _next_batch(self) -> list[Message]:
        """Whatever is already fetched; with nothing in flight, wait for the first record and take
        what came with it (consume(n, timeout) would wait out the timeout at low load, adding it
        to every event's latency)."""
        messages = self._consumer.consume(BATCH_SIZE, 0)
        if messages or len(self._outbox):
            return messages
        first = self._consumer.poll(POLL_S)
        if first is None:
            return []
        return [first, *self._consumer.consume(BATCH_SIZE - 1, 0)]

    def _settle(self, batches: list[Batch]) -> None:
        """Count what settled batches did and note their offsets (the latest per partition wins)."""
        for batch in batches:
            self._settled.update(batch.offsets)
            count_settled(batch)

    def _commit(self, *, wait: bool = False) -> None:
        """Commit the settled offsets, at most every COMMIT_INTERVAL_S unless waiting: a commit
        per loop turn (hundreds a second at low load) keeps the broker's group coordinator so
        busy that fetches stall. Asynchronous in the loop, since a lost commit only means those
        events are routed again; synchronous when partitions are about to move or on stop."""
        if not self._settled or (not wait and time.monotonic() - self._committed_at < COMMIT_INTERVAL_S):
            return
        offsets, self._settled = self._settled, {}
        self._committed_at = time.monotonic()
        try:
            self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                  asynchronous=not wait)
        except KafkaException as exc:
            log.warning("router: commit failed (%s); those events will be routed again", exc)

    def _drain(self, timeout: float) -> None:
        """Settle and commit what is in flight, for as long as timeout allows."""
        deadline = time.monotonic() + timeout
        while len(self._outbox) and time.monotonic() < deadline:
            self._settle(self._outbox.poll(REPORT_WAIT_S))
        self._commit(wait=True)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Note where the group left each new partition (the lag's floor until this worker
        reads it), and say the router is ready once it first has its share."""
        if partitions:
            try:
                for tp in consumer.committed(partitions, timeout=10.0):
                    if tp.offset >= 0:
                        self._committed[(tp.topic, tp.partition)] = tp.offset
            except KafkaException as exc:
                log.warning("router: committed offsets not read (%s); lag shows from the log start", exc)
        self._on_ready()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Before partitions move, commit what was routed from them, so their new owner does
        not route it again (what cannot settle in time is routed again: at least once)."""
        self._drain(REVOKE_DRAIN_S)

    def _update_lag(self) -> None:
        """Lag from the high watermark the last fetch saw (no broker round trip) minus our position."""
        self._lag_at = time.monotonic()
        try:
            positions = self._consumer.position(self._consumer.assignment())
        except KafkaException as exc:
            log.debug("router: no positions for lag (%s)", exc)
            return
        seen: set[tuple[str, int]] = set()
        for tp in positions:
            low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:
                continue
            # Before this worker has read a partition its position is unknown: the group's
            # committed offset stands for it (not the log start, which reported a whole
            # partition as lag after every restart).
            consumed = tp.offset if tp.offset >= 0 else self._committed.get((tp.topic, tp.partition), low)
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, high - consumed))
            seen.add((tp.topic, tp.partition))
        for topic, partition in self._lag_partitions - seen:
            CONSUMER_LAG.remove(topic, str(partition))
        self._lag_partitions = seen
