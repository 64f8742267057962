"""The delivery Subsystem: consumes the deliveries topic and the retry topics as one consumer
group, hands each job to the deliverer of its target's kind (streams/delivery/deliverer.py:
API destinations over HTTP, Kafka topics on any cluster, ...), parks failures in retry topics
and dead-letters what will not be delivered.

Isolation: each destination has its own lane (streams/delivery/lane.py: a bounded number of
attempts in flight, its share of the rate limit, a circuit breaker), and records of all
destinations are taken from Kafka as fast as they come, so a slow or failing endpoint only ever
fills its own lane. A lane with too many deliveries waiting has new ones parked (not counted as
attempts) instead of held in memory, and so has a destination whose breaker is open, until it
cools: those are parked straight from the fetch loop, without a task each, as they are nearly
every job taken while a destination fails. Retry-topic partitions are paused until their next record is due and resumed by a timer,
which holds no other partition back.

Durability: a record's offset is committed only once it is delivered, parked (the retry topic
acknowledged it) or dead-lettered, so a crash repeats deliveries in hand (at-least-once) and
loses none, parked ones included.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from confluent_kafka import KafkaError, KafkaException

from streams.config_service import ConfigService
from streams.delivery.deliverer import Attempt, Deliverer, Undeliverable
from streams.delivery.function_deliverer import FunctionDeliverer
from streams.delivery.http_deliverer import HttpDeliverer
from streams.delivery.kafka_deliverer import KafkaDeliverer
from streams.delivery.lane import Lane
from streams.delivery.letters import (
    ERROR_MAX,
    DeadLetterTopics,
    Headers,
    dead_letter_headers,
    dead_letter_topic,
)
from streams.delivery.offsets import PartitionOffsets
from streams.delivery.retries import Outcome
from streams.delivery.writer import KafkaWriter
from streams.jobs import Job, now_ms
from streams.metrics import (
    DELIVERY_DEAD_LETTERS,
    DELIVERY_FAILURES,
    DELIVERY_LATENCY,
    DELIVERY_RATE_WAIT_SECONDS,
    DELIVERY_RATE_WAITS,
    DELIVERY_REQUESTS,
    DELIVERY_RETRIES_DUE,
    DELIVERY_RETRIES_PARKED,
    DELIVERY_RETRIES_WAITING,
)
from streams.retry_schedule import TIERS_S
from streams.settings import Settings
from streams.subsystem import Subsystem
from streams.topics import TopicNames

log = logging.getLogger(__name__)

MAX_IN_HAND = 8192  # records taken and not finished, all lanes together, before fetching pauses
COMMIT_EVERY_S = 1.0
PRODUCE_RETRY_S = 1.0


def last_error(job: Job) -> str:
    return str(job.record.get("last_error", "not delivered"))


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: DeliveryService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.service.commit(revoked)
        for tp in revoked:
            self.service.offsets.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        for tp in assigned:
            self.service.offsets.setdefault(tp, PartitionOffsets())
        self.service.rebalanced()


class DeliveryService(Subsystem):
    def __init__(self, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self.settings = settings
        self.config = config
        self.topics = TopicNames(settings.topic_prefix)
        self.retry_topics = {self.topics.retry(tier): tier for tier in TIERS_S}
        self._parked = {tier: DELIVERY_RETRIES_PARKED.labels(f"{tier}s") for tier in TIERS_S}  # looked up once
        self.http = HttpDeliverer(settings, config)
        kafka = KafkaDeliverer(settings)
        # The kinds of target, by the TargetRef kind of their ARNs (streams/delivery/deliverer.py).
        self.deliverers: dict[str, Deliverer] = {"api-destination": self.http, "topic": kafka, "bus": kafka,
                                                 "function": FunctionDeliverer(self.topics, kafka)}
        self.offsets: dict[TopicPartition, PartitionOffsets] = {}
        self.lanes: dict[str, Lane] = {}
        # Each target ARN's lane, once a job to it was prepared (a lane's name is its ARN's, as
        # each deliverer names it): what parking a job at once looks up instead of preparing it.
        self._lane_names: dict[str, str] = {}
        self.share = 1.0  # of every destination's rate limit this worker may use
        self._paused: set[TopicPartition] = set()
        self._dead_letter_topics = DeadLetterTopics(settings)
        self._tasks: set[asyncio.Task[None]] = set()
        self._parking = 0  # jobs parked at once (_park_at_once) that Kafka has not acknowledged yet
        self._consumer: AIOKafkaConsumer | None = None
        self._writer: KafkaWriter | None = None

    async def on_start(self) -> None:
        settings = self.settings  # the retry topics exist: `busbar worker` creates them first
        for deliverer in set(self.deliverers.values()):
            await deliverer.start()
        self._writer = KafkaWriter(settings.kafka_bootstrap, f"{settings.app_id}-delivery")
        self._writer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=f"{settings.app_id}-delivery",
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500,
            client_id=f"{settings.app_id}-delivery")
        self._consumer.subscribe([self.topics.deliveries, *self.retry_topics], listener=_Rebalance(self))
        await self._consumer.start()
        self.add_future(self._consume())
        self.add_future(self._commit_periodically())

    async def on_stop(self) -> None:
        await super().on_stop()
        if self._writer is not None:
            await self._writer.flush()  # what was parked at once is done, so committed below
        if self._consumer is not None:
            await self.commit(set(self.offsets))
            await self._consumer.stop()
        if self._writer is not None:
            await self._writer.close()
        for deliverer in set(self.deliverers.values()):
            await deliverer.close()

    # --- consuming ---------------------------------------------------------------------------
    def rebalanced(self) -> None:
        """This worker's share of each rate limit: its share of the group's partitions."""
        assert self._consumer is not None
        total = sum(len(self._consumer.partitions_for_topic(topic) or ())
                    for topic in (self.topics.deliveries, *self.retry_topics))
        self.share = min(1.0, len(self._consumer.assignment()) / total) if total else 1.0
        self._paused &= self._consumer.assignment()
        DELIVERY_RETRIES_WAITING.set(len(self._paused))
        log.info("delivery: %d partitions assigned, %.0f%% of each destination's rate limit",
                 len(self._consumer.assignment()), 100 * self.share)

    @property
    def in_hand(self) -> int:
        return len(self._tasks) + self._parking

    async def _consume(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self.should_stop:
            if self.in_hand >= MAX_IN_HAND:
                await asyncio.sleep(0.05)
                continue
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                offsets = self.offsets.get(tp)
                if offsets is None:
                    continue  # revoked meanwhile; its new owner reads these again
                retries = tp.topic in self.retry_topics
                for record in records:
                    try:
                        job: Job | Exception = Job.decode(record.value, record.timestamp)
                    except Exception as exc:  # dead-lettered by _handle
                        job = exc
                    if retries and isinstance(job, Job) and self._hold_until_due(tp, record.offset, job):
                        break
                    offsets.take(record.offset)
                    if isinstance(job, Job) and self._park_at_once(job, offsets, record.offset):
                        continue
                    self._spawn(self._handle(tp, offsets, record, job))

    def _hold_until_due(self, tp: TopicPartition, offset: int, job: Job) -> bool:
        """Pause a retry partition whose next record is not due yet; a timer resumes it then."""
        try:
            wait_ms = job.due_ms - now_ms()
        except (ValueError, TypeError):
            return False  # dead-lettered by _handle
        if wait_ms <= 0:
            DELIVERY_RETRIES_DUE.inc()
            return False
        assert self._consumer is not None
        self._consumer.seek(tp, offset)
        self._consumer.pause(tp)
        self._paused.add(tp)
        DELIVERY_RETRIES_WAITING.set(len(self._paused))
        asyncio.get_running_loop().call_later(wait_ms / 1000, self._resume, tp)
        return True

    def _park_at_once(self, job: Job, offsets: PartitionOffsets, offset: int) -> bool:
        """A job for a destination whose breaker is open, or whose lane is full, parked again
        straight from the fetch loop: no task, no await, its offset done once Kafka has it. While
        a destination fails nearly every job taken is one of these, so this path is most of what
        a failing destination costs; anything else (a first attempt, a job to give up) is a task's."""
        try:
            lane = self.lanes.get(self._lane_names.get(str(job.target.get("Arn", ""))) or "")
            deadline = job.timestamp_ms + job.max_age_ms
            if lane is None or now_ms() > deadline:
                return False
            until = lane.breaker.hold_until(deadline)
            if until is not None:
                if until > deadline:
                    return False
                tier, counter = job.park(until), lane.held
            elif lane.full:
                tier, counter = job.park(lane.spill_due(now_ms())), lane.spilled
            else:
                return False
            value = job.encode()
        except Exception:  # the task sees why
            return False
        counter.inc()
        topic = self.topics.retry(tier)
        self._parking += 1

        def parked(err: KafkaError | None) -> None:
            self._parking -= 1
            if err is None:
                self._parked[tier].inc()
                offsets.done(offset)
            else:  # the long way: written again until Kafka takes it
                self._spawn(self._park_written(topic, tier, value, offsets, offset))

        assert self._writer is not None
        try:
            self._writer.write(topic, value, None, [], parked)
        except (BufferError, KafkaException) as exc:
            parked(exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError)
                   else KafkaError(KafkaError._QUEUE_FULL))
        return True

    async def _park_written(self, topic: str, tier: int, value: bytes, offsets: PartitionOffsets,
                            offset: int) -> None:
        await self._produce(topic, value, None, [])
        self._parked[tier].inc()
        offsets.done(offset)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _resume(self, tp: TopicPartition) -> None:
        self._paused.discard(tp)
        DELIVERY_RETRIES_WAITING.set(len(self._paused))
        if self._consumer is not None and tp in self._consumer.assignment():
            self._consumer.resume(tp)

    async def _commit_periodically(self) -> None:
        while not self.should_stop:
            await asyncio.sleep(COMMIT_EVERY_S)
            await self.commit(set(self.offsets))

    async def commit(self, partitions: set[TopicPartition]) -> None:
        if self._consumer is None:
            return
        points = {tp: offset for tp in partitions if tp in self.offsets
                  and (offset := self.offsets[tp].committable()) is not None}
        if not points:
            return
        try:
            await self._consumer.commit(points)
        except Exception as exc:  # a rebalance under way: the next commit (or the new owner) catches up
            log.info("delivery: commit deferred (%s)", exc)

    # --- one delivery ------------------------------------------------------------------------
    async def _handle(self, tp: TopicPartition, offsets: PartitionOffsets, record: ConsumerRecord,
                      job: Job | Exception) -> None:
        """A record's offset moves on only once it is delivered, parked or dead-lettered. Should
        this worker stop midway (cancelled, or the fallback's own write given up on stopping),
        the record stays in hand: not committed, so it is taken up again after a restart."""
        try:
            await self._deliver(job, record.value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug, or a record no check foresaw: its attempt failed, for that reason
            log.exception("delivery: record %s@%d failed unexpectedly", tp, record.offset)
            await self._failed_unexpectedly(record.value, record.timestamp, f"failed unexpectedly: {exc!r}")
        offsets.done(record.offset)

    async def _failed_unexpectedly(self, value: bytes, timestamp_ms: int, reason: str) -> None:
        """Counted as a failed attempt: parked for a retry as its RetryPolicy allows, then
        dead-lettered with the reason. Should that fail too, the record goes to its bus's DLQ
        as it came, with the reason."""
        try:
            job = Job.decode(value, timestamp_ms)
            job.attempted(reason)
            tier = job.retry_or_why_not(reason)
            arn = str(job.target.get("Arn", ""))
            if isinstance(tier, str):
                await self._give_up(job, arn, tier, 0)
            else:
                await self._park(job, tier)
        except Exception as exc:
            if self.should_stop:
                raise
            log.exception("delivery: a record that failed unexpectedly could not be retried or dead-lettered")
            await self._refuse(value, f"{reason}; then {exc!r}")

    async def _refuse(self, value: bytes, reason: str) -> None:
        """A record that cannot be a job at all, to its bus's DLQ (the default bus's when it names
        none) as it came, with the reason."""
        try:
            bus = str(orjson.loads(value).get("bus") or "default")
        except (ValueError, AttributeError):
            bus = "default"
        await self._dead_letter_topics.ensure(self.topics.dlq(bus))
        await self._produce(self.topics.dlq(bus), value, None, [("busbar-error", reason[:ERROR_MAX].encode())])

    async def _deliver(self, job: Job | Exception, value: bytes) -> None:
        if isinstance(job, ValueError):
            await self._refuse(value, str(job))
            return
        if isinstance(job, Exception):
            raise job
        arn = str(job.target.get("Arn", ""))
        try:
            ref = job.ref
            deliverer = self.deliverers.get(ref.kind)
            if deliverer is None:
                raise Undeliverable(f"no deliverer for targets of kind {ref.kind}")
            attempt = deliverer.prepare(job, ref)
        except (ValueError, Undeliverable) as exc:
            await self._give_up(job, arn, str(exc), 0)
            return
        name = self._lane_names[arn] = attempt.lane
        if now_ms() - job.timestamp_ms > job.max_age_ms:
            await self._give_up(job, name, f"{last_error(job)} (older than MaximumEventAgeInSeconds)", 0)
            return
        lane = self.lanes.get(name) or self.lanes.setdefault(name, Lane(name))
        deadline = job.timestamp_ms + job.max_age_ms
        if (until := lane.breaker.hold_until(deadline)) is not None:
            await self._hold(job, lane, until)
            return
        if lane.full:
            await self._park(job, job.park(lane.spill_due(now_ms())))
            lane.spilled.inc()
            return
        lane.waiting += 1
        try:
            await lane.slots.acquire()
        finally:
            lane.waiting -= 1
        try:
            admission = await lane.breaker.admit(deadline)  # it may have opened while this one waited
            if admission.go:
                outcome = await self._attempt(lane, attempt, admission.probe)
        finally:
            lane.slots.release()
        if not admission.go:
            await self._hold(job, lane, admission.until_ms)
            return
        await self._settle(job, name, outcome)

    async def _attempt(self, lane: Lane, attempt: Attempt, probe: bool) -> Outcome:
        """One attempt, within the destination's rate limit; its outcome goes to the lane's breaker."""
        try:
            if attempt.rate_per_s is not None:
                lane.limit(attempt.rate_per_s * self.share)
                waited = await lane.bucket.take()
                if waited:
                    DELIVERY_RATE_WAITS.labels(lane.name).inc()
                    DELIVERY_RATE_WAIT_SECONDS.labels(lane.name).inc(waited)
            outcome = await attempt.send()
        except BaseException:
            lane.breaker.abandoned(probe)
            raise
        if outcome.ok or not outcome.retriable:  # the destination answered: it is up
            lane.breaker.succeeded(probe)
        else:
            lane.breaker.failed(probe)
        lane.show()
        return outcome

    async def _hold(self, job: Job, lane: Lane, until_ms: int) -> None:
        """Parked until its destination's breaker says (Breaker.hold_until), no attempt counted;
        given up now when the event would be too old by then."""
        if until_ms - job.timestamp_ms > job.max_age_ms:
            await self._give_up(job, lane.name, f"{last_error(job)} (MaximumEventAgeInSeconds passes while "
                                                f"its destination's circuit breaker is open)", 0)
            return
        await self._park(job, job.park(until_ms))
        lane.held.inc()

    async def _settle(self, job: Job, name: str, outcome: Outcome) -> None:
        job.attempted(None if outcome.ok else outcome.error)
        if outcome.seconds:
            DELIVERY_LATENCY.labels(name).observe(outcome.seconds)
        DELIVERY_REQUESTS.labels(name, "ok" if outcome.ok else "failed").inc()
        if outcome.ok:
            return
        reason = str(outcome.status) if outcome.status else outcome.error.split(" (")[0].split(":")[0][:40]
        DELIVERY_FAILURES.labels(name, reason).inc()
        if not outcome.retriable:
            await self._give_up(job, name, outcome.error, outcome.status)
            return
        tier = job.retry_or_why_not(outcome.error, outcome.retry_after_s)
        if isinstance(tier, str):
            await self._give_up(job, name, tier, outcome.status)
            return
        await self._park(job, tier)

    async def _park(self, job: Job, tier: int) -> None:
        await self._produce(self.topics.retry(tier), job.encode(), None, [])
        self._parked[tier].inc()

    async def _give_up(self, job: Job, name: str, reason: str, status: int) -> None:
        log.warning("delivery to %s (rule %s/%s) given up after %d attempt(s): %s", name,
                    job.record.get("bus"), job.record.get("rule"), job.attempts, reason)
        DELIVERY_DEAD_LETTERS.labels(name).inc()
        headers = dead_letter_headers(job, reason, status)
        topic = dead_letter_topic(job, self.topics)
        await self._dead_letter_topics.ensure(topic)
        await self._produce(topic, job.payload, job.key, headers)

    async def _produce(self, topic: str, value: bytes, key: bytes | None, headers: Headers) -> None:
        """Until Kafka takes it: the record's offset must not be committed before."""
        assert self._writer is not None
        while True:
            try:
                await self._writer.send(topic, value, key, headers)
                return
            except Exception as exc:
                if self.should_stop:
                    raise
                log.warning("delivery: writing to %s failed (%s); trying again", topic, exc)
                await asyncio.sleep(PRODUCE_RETRY_S)
