"""Replays as a worker subsystem: each replay run by one worker, resumed by another if it stops.

StartReplay stores the replay (`replay/<name>`) and puts its name on the replays topic. Every
worker's ReplayService reads that topic in one consumer group, so each request is claimed by
exactly one worker: the one the group gives its partition to. That worker copies the replay
(streams/replay/copier.py) in a thread of its own, storing how far it has got in
`replay-progress/<name>` about once a second, which is what DescribeReplay on any worker shows.
The request's offset is committed only once the replay has ended (completed, cancelled or
failed), so when a worker stops mid-replay the partition's next owner reads the request again
and resumes from the stored progress. CancelReplay marks the stored replay; the running worker
sees the mark between two steps and stops.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.arns import parse_bus_or_rule_arn
from streams.config_service import ConfigService
from streams.config_store import ConfigStore, ConfigStoreError
from streams.model import Record, replay_progress_key
from streams.replay.copier import ReplayCopier, ReplayFailed, Window
from streams.settings import Settings
from streams.subsystem import ThreadSubsystem
from streams.topics import TopicNames, ensure_topics

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 1.0
IDLE_POLL_S = 0.2
REQUEST_WAIT_S = 60.0  # a request whose replay record this worker has not read yet is retried this long
FINAL = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


def now() -> float:
    return round(time.time(), 3)


@dataclass
class Claim:
    """A replay request this worker holds: the record's place in the replays topic, and its copier once started."""

    name: str
    partition: int
    offset: int
    claimed_at: float
    copier: ReplayCopier | None = None
    saved_at: float = 0.0


class ReplayService(ThreadSubsystem):
    thread_name = "busbar-replay"

    def __init__(self, settings: Settings, config: ConfigService, **kwargs: Any) -> None:
        super().__init__(requires=(config,), **kwargs)
        self._settings = settings
        self._topics = TopicNames(settings.topic_prefix)
        self._store = config.store

    async def on_start(self) -> None:
        settings = self._settings
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: ensure_topics(settings.kafka_bootstrap, {self._topics.replays: {}},
                                        partitions=settings.partitions, replication=settings.replication))
        await super().on_start()

    def run_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        ReplayLoop(self._settings, self._topics, self._store, self._stopping).run()


class ReplayLoop:
    """Claims requests and steps every claimed replay in turn, so several replays share one thread."""

    def __init__(self, settings: Settings, topics: TopicNames, store: ConfigStore, stopping: threading.Event) -> None:
        self._settings = settings
        self._topics = topics
        self._store = store
        self._stopping = stopping
        self._claims: dict[str, Claim] = {}
        self._worker = f"{settings.host}:{settings.port}"  # which worker runs a replay, for its operators
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-replays",
            "group.protocol": settings.group_protocol, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "log_level": 3,
            **({"group.instance.id": f"{settings.instance_id}-replays"} if settings.instance_id else {}),
        })

    def run(self) -> None:
        self._consumer.subscribe([self._topics.replays], on_revoke=self._on_revoke, on_lost=self._on_revoke)
        try:
            while not self._stopping.is_set():
                for msg in self._consumer.consume(100, 0 if self._claims else IDLE_POLL_S):
                    self._claim(msg)
                for claim in list(self._claims.values()):
                    self._step(claim)
        finally:
            self._release(list(self._claims.values()))
            self._consumer.close()

    def _claim(self, msg: Message) -> None:
        if msg.error() is not None:
            log.warning("replays topic: %s", msg.error())
            return
        name = (msg.value() or b"").decode()
        self._claims[name] = Claim(name, msg.partition(), msg.offset(), time.monotonic())

    def _step(self, claim: Claim) -> None:
        """One step of a claimed replay; its end (whatever it is) is stored, then its request committed."""
        model = self._store.model
        request, progress = model.replay(claim.name), model.replay_progress(claim.name) or {}
        try:
            if request is None:
                if time.monotonic() - claim.claimed_at > REQUEST_WAIT_S:
                    log.error("replay %s: requested but never stored; dropping the request", claim.name)
                    self._end(claim, None)
                return
            if progress.get("State") in FINAL:
                self._end(claim, None)
            elif request.get("Cancelled"):
                self._end(claim, self._progress(claim, "CANCELLED", "Cancelled by CancelReplay.", final=True))
            elif claim.copier is None:
                claim.copier = self._copier(request, progress)
                self._save(claim, self._progress(claim, "RUNNING", "Replaying events."))
            elif claim.copier.step():
                self._end(claim, self._progress(claim, "COMPLETED", "Replay completed.", final=True))
            elif time.monotonic() - claim.saved_at > PROGRESS_INTERVAL_S:
                claim.copier.flush()  # stored positions never run ahead of what Kafka acknowledged
                self._save(claim, self._progress(claim, "RUNNING", "Replaying events."))
        except Exception as exc:  # ReplayFailed, KafkaException, or a bug: this replay fails, not the others
            log.error("replay %s failed: %r", claim.name, exc, exc_info=not isinstance(exc, ReplayFailed))
            self._end(claim, self._progress(claim, "FAILED", str(exc)[:500], final=True))

    def _copier(self, request: Record, progress: Record) -> ReplayCopier:
        """A new copier, or one resuming where the last worker to run this replay stored it had got."""
        bus = request["EventBusName"]
        rules = [parse_bus_or_rule_arn(arn)[2] or "" for arn in request["Destination"].get("FilterArns") or []]
        window = Window.from_record(progress) if "Positions" in progress else None
        copier = ReplayCopier(self._settings.kafka_bootstrap, request["ReplayName"],
                              self._topics.archive(request["ArchiveName"]), self._topics.replay(bus),
                              int(request["EventStartTime"] * 1000), int(request["EventEndTime"] * 1000), rules,
                              window)
        copier.replayed = progress.get("EventsReplayed", 0)
        if progress.get("EventLastReplayedTime") is not None:
            copier.last_replayed_ms = int(progress["EventLastReplayedTime"] * 1000)
        return copier

    def _progress(self, claim: Claim, state: str, reason: str, *, final: bool = False) -> Record:
        record: Record = {"State": state, "StateReason": reason, "Worker": self._worker}
        copier = claim.copier
        if copier is not None:
            record.update(copier.window.as_record())
            record["EventsReplayed"], record["EventsTotal"] = copier.replayed, copier.window.total
            if copier.last_replayed_ms is not None:
                record["EventLastReplayedTime"] = copier.last_replayed_ms / 1000
        if final:
            record["ReplayEndTime"] = now()
        return record

    def _save(self, claim: Claim, record: Record) -> None:
        claim.saved_at = time.monotonic()
        try:
            self._store.write(replay_progress_key(claim.name), record)
        except ConfigStoreError as exc:  # the next save carries on from where this one would have
            log.warning("replay %s: progress not stored (%s)", claim.name, exc)

    def _end(self, claim: Claim, record: Record | None) -> None:
        """Store how the replay ended, then let the group forget the request. If the end cannot be
        stored, the claim stays as it is and the next step ends it again."""
        if record is not None:
            try:
                self._store.write(replay_progress_key(claim.name), record)
            except ConfigStoreError as exc:
                log.warning("replay %s: its end (%s) not stored yet (%s)", claim.name, record["State"], exc)
                return
        self._close(claim)
        del self._claims[claim.name]
        pending = [c.offset for c in self._claims.values() if c.partition == claim.partition]
        # Committing past a request still running would lose it if this worker stopped now.
        offset = min(pending) if pending and min(pending) < claim.offset else claim.offset + 1
        try:
            self._consumer.commit(offsets=[TopicPartition(self._topics.replays, claim.partition, offset)],
                                  asynchronous=False)
        except KafkaException as exc:  # the request is read again; its stored end makes that a no-op
            log.warning("replay %s: request not committed (%s)", claim.name, exc)

    def _close(self, claim: Claim) -> None:
        if claim.copier is not None:
            try:
                claim.copier.close()
            except KafkaException as exc:
                log.warning("replay %s: %s", claim.name, exc)
            claim.copier = None

    def _release(self, claims: list[Claim]) -> None:
        """Stop replays without ending them: whoever claims their requests next resumes them."""
        for claim in claims:
            if claim.copier is not None:
                try:
                    claim.copier.flush()
                    self._save(claim, self._progress(claim, "RUNNING", "Replaying events."))
                except (ReplayFailed, KafkaException) as exc:
                    log.warning("replay %s: progress not stored on release (%s)", claim.name, exc)
            self._close(claim)
            self._claims.pop(claim.name, None)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {tp.partition for tp in partitions}
        self._release([claim for claim in self._claims.values() if claim.partition in revoked])
