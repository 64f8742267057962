"""The scheduler subsystem: fires every schedule of the state partitions this worker owns.

Ownership is Kafka's: the workers form a consumer group on the schedule-state topic, and a
schedule belongs to the partition its id hashes to (state.partition_of). On being assigned a
partition, a worker claims it (owner.PartitionOwner: fencing the previous owner), reads its
state up to the claim, and fires each schedule's due times from that state, late ones too if
within BUSBAR_SCHEDULE_CATCHUP_S; a firing and its state commit in one transaction. Losing the
partition (a rebalance, a fence) stops its firing at once. So however many workers run, each
scheduled time fires once, and a worker's crash neither loses nor repeats one.

Like the router, the loop is blocking librdkafka calls, so it runs in a thread of its own;
config changes reach it through a queue and are applied between steps.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from streams.config_service import ConfigService
from streams.config_store import ConfigStore
from streams.groups import group_config
from streams.loop_thread import LoopThreadSubsystem
from streams.metrics import SCHEDULE_FAILURES, SCHEDULE_FIRINGS, SCHEDULE_PARTITIONS, SCHEDULE_SKIPPED
from streams.model import Change
from streams.scheduler.agenda import Agenda, Due, next_time
from streams.scheduler.clock import Clock, parse_clock
from streams.scheduler.owner import Fenced, NotCommitted, PartitionOwner
from streams.scheduler.plans import Output, Plan, plan_of
from streams.scheduler.state import CLAIM_KEY, State, decode_state, partition_of
from streams.settings import Settings
from streams.topics import TopicNames

log = logging.getLogger(__name__)

POLL_S = 0.1  # longest wait between two looks at the agendas (and at config changes)
BATCH = 2000  # firings of one partition per transaction
CONFIG_WAIT_S = 120.0
MISSING_TOPIC_RECHECK_S = 5.0
COMMIT_THREADS = 8  # transactions of different partitions committing at once
CONSUMER_CONFIG: dict[str, Any] = {
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",  # never committed: a new owner reads the partition from its start
    "isolation.level": "read_committed",
    "log_level": 3,
}


class SchedulerService(LoopThreadSubsystem):
    thread_name = "busbar-scheduler"

    def __init__(self, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._settings = settings
        self._clock = parse_clock(settings.schedule_clock)  # a bad setting fails the worker at start
        group_config(settings, "check")

    def run_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        SchedulerLoop(self._settings, self._config.store, self._changes, self._stopping, self._clock).run()


class SchedulerLoop:
    def __init__(self, settings: Settings, config_store: ConfigStore, changes: queue.SimpleQueue[Change],
                 stopping: threading.Event, clock: Clock,
                 on_fired: Callable[[list[Due], float], None] = lambda due, now: None) -> None:
        """`on_fired` hears each committed batch of firings with the clock's time after the
        commit (a benchmark measures lateness with it)."""
        self._settings = settings
        self._topics = TopicNames(settings.topic_prefix)
        self._config_store = config_store
        self._changes = changes
        self._stopping = stopping
        self._clock = clock
        self._on_fired = on_fired
        self._consumer = Consumer({**group_config(settings, f"{settings.app_id}-scheduler"), **CONSUMER_CONFIG})
        self._partitions = 0
        self._plans: dict[int, dict[str, Plan]] = {}  # every schedule's plan, by state partition
        self._loading: dict[int, dict[str, State]] = {}  # assigned partitions read up to their claim
        self._to_claim: set[int] = set()
        self._owners: dict[int, PartitionOwner] = {}
        self.agendas: dict[int, Agenda] = {}
        self._committer = ThreadPoolExecutor(COMMIT_THREADS, thread_name_prefix="busbar-scheduler-commit")
        self._topics_seen: set[str] = set()
        self._topics_missing: dict[str, float] = {}  # topic -> when found missing (monotonic)

    def run(self) -> None:
        state_topic = self._topics.schedule_state
        metadata = self._consumer.list_topics(state_topic, timeout=30.0).topics[state_topic]
        if metadata.error is not None:
            raise RuntimeError(f"scheduler: no topic {state_topic}: {metadata.error}")
        self._partitions = len(metadata.partitions)
        self._wait_for_config()
        self._consumer.subscribe([state_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)
        try:
            while not self._stopping.is_set():
                messages = self._consumer.consume(1000, self._wait_s())
                self._apply_changes()
                for msg in messages:
                    self._read(msg)
                self._claim()
                self._fire()
        finally:
            for partition in list(self._owners):
                self._drop(partition)
            self._committer.shutdown()
            self._consumer.close()

    def _wait_for_config(self) -> None:
        _, high = self._consumer.get_watermark_offsets(TopicPartition(self._topics.config, 0), timeout=30.0)
        self._config_store.wait_applied(high - 1, CONFIG_WAIT_S)
        self._apply_changes()

    def _wait_s(self) -> float:
        if self._to_claim:
            return 0.0
        dues = [due for agenda in self.agendas.values() if (due := agenda.next_due()) is not None]
        if not dues:
            return POLL_S
        return max(0.0, min(POLL_S, self._clock.real_seconds(min(dues) - self._clock.now())))

    # --- configuration ------------------------------------------------------------------------
    def _apply_changes(self) -> None:
        now = self._clock.now()
        while True:
            try:
                change = self._changes.get_nowait()
            except queue.Empty:
                return
            if change.kind not in ("rule", "schedule"):
                continue
            try:
                plan = plan_of(change.key, change.new, self._settings, self._topics) if change.new else None
            except Exception:  # one unreadable record must not stop every other schedule
                log.exception("scheduler: cannot plan %s; it does not fire", change.key)
                plan = None
            partition = partition_of(change.key, self._partitions)
            plans = self._plans.setdefault(partition, {})
            agenda = self.agendas.get(partition)
            if plan is None:
                if plans.pop(change.key, None) is not None and agenda is not None:
                    agenda.remove(change.key)
                continue
            plans[change.key] = plan
            if agenda is not None:
                agenda.put(plan, now)

    # --- ownership ----------------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._loading[tp.partition] = {}
            self._to_claim.add(tp.partition)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self._drop(tp.partition)

    def _drop(self, partition: int) -> None:
        self._loading.pop(partition, None)
        self._to_claim.discard(partition)
        self.agendas.pop(partition, None)
        owner = self._owners.pop(partition, None)
        if owner is not None:
            owner.close()
        SCHEDULE_PARTITIONS.set(len(self.agendas))

    def _claim(self) -> None:
        for partition in sorted(self._to_claim):
            owner = PartitionOwner(self._settings.kafka_bootstrap, self._settings.app_id, self._topics.schedule_state,
                                   partition)
            try:
                owner.claim()
            except Exception as exc:  # a broker hiccup: try again next step
                log.warning("scheduler: partition %d not claimed yet (%s)", partition, exc)
                owner.close()
                continue
            self._to_claim.discard(partition)
            self._owners[partition] = owner

    def _read(self, msg: Message) -> None:
        if msg.error() is not None:
            return
        partition = msg.partition()
        states = self._loading.get(partition)
        if states is None:
            return  # our own writes coming back
        key = msg.key()
        if key == CLAIM_KEY:
            owner = self._owners.get(partition)
            if owner is not None and msg.value() == owner.nonce:
                self._activate(partition, self._loading.pop(partition))
            return
        try:
            state = decode_state(msg.value())
        except ValueError:
            log.warning("scheduler: unreadable state record for %r skipped", key)
            return
        if state is None:
            states.pop(key.decode(), None)
        else:
            states[key.decode()] = state

    def _activate(self, partition: int, states: dict[str, State]) -> None:
        agenda = Agenda(states, self._settings.schedule_catchup_s)
        now = self._clock.now()
        for plan in self._plans.get(partition, {}).values():
            agenda.put(plan, now)
        agenda.forget_orphans()
        self.agendas[partition] = agenda
        SCHEDULE_PARTITIONS.set(len(self.agendas))
        log.info("scheduler: firing partition %d (%d schedules)", partition, len(agenda))

    # --- firing -------------------------------------------------------------------------------
    def _fire(self) -> None:
        """Each owned partition's due firings in one transaction; the partitions' transactions
        commit side by side (each waits ~20-50 ms on the broker, one after the other they added
        up to a firing's lateness)."""
        now = self._clock.now()
        work: list[tuple[int, Agenda, list[Due], dict[str, State | None], dict[str, Plan]]] = []
        commits = []
        for partition, agenda in list(self.agendas.items()):
            skipped = agenda.skipped
            due = agenda.take_due(now, BATCH)
            if agenda.skipped != skipped:
                SCHEDULE_SKIPPED.inc(agenda.skipped - skipped)
            pending = agenda.take_pending()
            completed = agenda.take_completed()
            if not due and not pending and not completed:
                continue
            outputs = [Output(self._topics.config, schedule_id.encode(), None) for schedule_id in completed]
            states = dict(pending)
            for item in due:
                outputs.extend(self._outputs(item))
                states[item.plan.id] = agenda.fired_state(item)
            work.append((partition, agenda, due, pending, completed))
            commits.append(self._committer.submit(self._owners[partition].commit, outputs, states))
        for (partition, agenda, due, pending, completed), commit in zip(work, commits, strict=True):
            self._settle(partition, agenda, due, pending, completed, commit.exception())

    def _settle(self, partition: int, agenda: Agenda, due: list[Due], pending: dict[str, State | None],
                completed: dict[str, Plan], error: BaseException | None) -> None:
        if isinstance(error, NotCommitted):
            log.warning("scheduler: partition %d: firings not committed (%s); trying again", partition, error)
            for item in due:
                agenda.retry(item)
            agenda.restore_pending(pending, completed)
        elif isinstance(error, Fenced):
            log.warning("scheduler: partition %d is owned by another worker now", partition)
            self._drop(partition)
        elif error is not None:  # Uncertain, or a failure nobody foresaw: Kafka's record decides
            log.warning("scheduler: partition %d: outcome unknown (%r); claiming it again", partition, error)
            self._reclaim(partition)
        else:
            for item in due:
                agenda.fired(item)
            for kind, count in Counter(item.plan.kind for item in due).items():
                SCHEDULE_FIRINGS.labels(kind).inc(count)
            if due:
                self._on_fired(due, self._clock.now())

    def _reclaim(self, partition: int) -> None:
        """Read the partition again from its start after a new claim: its state is what Kafka says."""
        self._drop(partition)
        self._loading[partition] = {}
        self._to_claim.add(partition)
        self._consumer.seek(TopicPartition(self._topics.schedule_state, partition, OFFSET_BEGINNING))

    def _outputs(self, due: Due) -> list[Output]:
        """A firing's records: its target's, or a delivery job when its target's topic is missing
        now (the delivery service tries again by the target's RetryPolicy), or a dead letter."""
        plan = due.plan
        outputs: list[Output] = []
        timestamp_ms = int(1000 * self._clock.real_time(due.scheduled))
        error = plan.error
        if error is None and plan.topic is not None and self._topic_exists(plan.topic):
            outputs.append(Output(plan.topic, plan.key, plan.record(due.scheduled, timestamp_ms)))
        elif error is None and plan.target is not None:
            outputs.append(Output(self._topics.deliveries, None, plan.job(due.scheduled, timestamp_ms)))
        else:
            error = error or f"topic {plan.topic} does not exist"
            SCHEDULE_FAILURES.labels(plan.kind).inc()
            dead_letter = plan.dead_letter_topic
            if dead_letter is not None and self._topic_exists(dead_letter):
                outputs.append(Output(dead_letter, plan.key, plan.payload(due.scheduled),
                                      [("busbar-error", error.encode()), ("busbar-schedule", plan.arn.encode())]))
            else:
                log.warning("scheduler: %s did not fire at %s: %s", plan.arn, due.scheduled, error)
        if plan.delete_after and next_time(plan.timing, due.scheduled) is None:
            outputs.append(Output(self._topics.config, plan.id.encode(), None))  # completed: deleted, as asked
        return outputs

    def _topic_exists(self, topic: str) -> bool:
        if topic in self._topics_seen:
            return True
        missing_at = self._topics_missing.get(topic)
        if missing_at is not None and time.monotonic() - missing_at < MISSING_TOPIC_RECHECK_S:
            return False
        owner = next(iter(self._owners.values()))
        if owner.topic_exists(topic):
            self._topics_seen.add(topic)
            self._topics_missing.pop(topic, None)
            return True
        self._topics_missing[topic] = time.monotonic()
        return False
