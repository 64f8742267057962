"""What fires, when, and what a firing writes: plans made from config records.

A plan is built from one record alone (a `rule/<bus>/<name>` with a ScheduleExpression, or a
`schedule/<group>/<name>`), so every worker makes the same plan for the same record and a
new owner fires what the old one would have. A plan's `outputs` are the records one firing
writes; the owner writes them in the same Kafka transaction as the schedule's new state.

Scheduled rules fire onto the `<prefix>.scheduled` topic, keyed `<bus>/<rule>`: the router
reads it beside the bus topics and sends each record to that rule's targets only (input
shaping, retries and dead letters as for any matched event). A scheduled event put on the
rule's bus instead would also reach every other rule whose pattern matches `aws.events`,
which EventBridge never does, and telling it apart there would cost every bus record a header
check; a topic of its own costs the router one comparison per run of records.

Scheduler schedules write their target's record directly when it is a topic of this cluster
(a bus topic, or the Kafka topic an SQS/SNS/Kinesis/Firehose or Kafka ARN maps to), so the
firing and the state that records it commit together. Any other target (an API destination, a
function, a topic on another cluster), and a local topic missing when the firing is due, is
never written from the firing transaction, which can only write to this cluster and must not
wait: the firing writes a delivery job (streams/jobs.py) instead, and the delivery service
delivers it (a function's job to the function's agent), retrying by the target's RetryPolicy and
dead-lettering to its DeadLetterConfig.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.arns import LOCAL_CLUSTER, parse_target_arn, rule_arn, schedule_arn
from streams.envelope import format_time
from streams.jobs import Job
from streams.schedules import Timing, rule_timing, schedule_timing
from streams.settings import Settings
from streams.topics import TopicNames

Headers = list[tuple[str, bytes]]
# Namespace of firing ids: an id is derived from the schedule and the scheduled time, so a
# consumer can de-duplicate on it even across the router's at-least-once delivery.
FIRING_IDS = uuid.UUID("5c1e6a0e-3b7e-4f0a-9a63-6b7573626172")
# What a delivery job keeps of a Scheduler target: where it goes and how failures are handled.
JOB_TARGET = ("Arn", "RetryPolicy", "DeadLetterConfig")
CONTEXT_ATTRIBUTES = ("<aws.scheduler.schedule-arn>", "<aws.scheduler.scheduled-time>",
                      "<aws.scheduler.execution-id>", "<aws.scheduler.attempt-number>")


@dataclass(frozen=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class Plan:
    """One schedule as its owner fires it.

    `since`: epoch seconds from which it fires (Scheduler's LastModificationDate), or None for
    a rule, whose record holds no time: its owner records when it first saw it. `version`
    changes when the timing does, which restarts `since`. `error` says why a firing cannot be
    delivered (then it is dead-lettered, when a dead-letter topic is set). `target` is a
    Scheduler target as a delivery job carries it; `via_delivery`: every firing is such a job.
    """

    id: str
    timing: Timing
    version: str
    since: float | None
    kind: str  # "rule" | "schedule"
    arn: str
    topic: str | None
    key: bytes | None
    event: Mapping[str, Any] = field(default_factory=dict)  # the envelope, without id and time
    input: str | None = None  # a Scheduler target's Input
    input_is_detail: bool = False  # a bus target: Input becomes the event's detail
    window_s: float = 0.0
    delete_after: bool = False
    dead_letter_topic: str | None = None
    error: str | None = None
    target: Mapping[str, Any] | None = None
    via_delivery: bool = False

    def offset(self, scheduled: float) -> float:
        """A flexible window's delay for one firing: random-looking but the same on every
        worker, so an owner taking over fires at the time the last one would have."""
        if not self.window_s:
            return 0.0
        digest = hashlib.blake2b(f"{self.id}@{scheduled}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) % int(self.window_s * 1000) / 1000

    def firing_id(self, scheduled: float) -> str:
        return str(uuid.uuid5(FIRING_IDS, f"{self.id}@{scheduled}"))

    def record(self, scheduled: float, timestamp_ms: int) -> bytes:
        """What a firing writes to `topic`: its payload, or the delivery job carrying it."""
        return self.job(scheduled, timestamp_ms) if self.via_delivery else self.payload(scheduled)

    def job(self, scheduled: float, timestamp_ms: int) -> bytes:
        """The delivery job of a firing (a Scheduler schedule's only). `timestamp_ms` (the
        scheduled time on the real clock) is what its MaximumEventAgeInSeconds counts from, as
        Scheduler counts from the scheduled time."""
        assert self.target is not None
        return Job.for_firing(target=dict(self.target), schedule=self.arn, value=self.payload(scheduled),
                              event_id=self.firing_id(scheduled), timestamp_ms=timestamp_ms).encode()

    def payload(self, scheduled: float, attempt: int = 1) -> bytes:
        """The record a firing at `scheduled` writes to its target."""
        firing_id = self.firing_id(scheduled)
        moment = format_time(datetime.fromtimestamp(scheduled, UTC))
        text = self.input
        if text is not None:
            for name, value in zip(CONTEXT_ATTRIBUTES, (self.arn, moment, firing_id, str(attempt)), strict=True):
                text = text.replace(name, value)
            if not self.input_is_detail:
                return text.encode()
        event = {"version": "0", "id": firing_id, **self.event, "time": moment}
        if text is not None:
            event["detail"] = orjson.loads(text)
        return orjson.dumps(event)


def plan_of(key: str, record: Mapping[str, Any], settings: Settings, topics: TopicNames) -> Plan | None:
    """The plan of a config record; None for what never fires (not a schedule, disabled).
    ValueError (or a subclass) for a record whose expression or time zone cannot be read."""
    kind, _, rest = key.partition("/")
    if kind == "rule":
        return _rule_plan(key, rest, record, settings, topics)
    if kind == "schedule":
        return _schedule_plan(key, record, settings, topics)
    return None


def _envelope(settings: Settings, source: str, detail_type: str, resource: str) -> dict[str, Any]:
    return {"detail-type": detail_type, "source": source, "account": settings.account,
            "region": settings.region, "resources": [resource], "detail": {}}


def _rule_plan(key: str, rest: str, record: Mapping[str, Any], settings: Settings,
               topics: TopicNames) -> Plan | None:
    if not record.get("ScheduleExpression") or record.get("State", "ENABLED") != "ENABLED":
        return None
    bus, _, name = rest.partition("/")
    arn = rule_arn(settings.region, settings.account, bus, name)
    return Plan(id=key, timing=rule_timing(record), version=record["ScheduleExpression"], since=None, kind="rule",
                arn=arn, topic=topics.scheduled, key=rest.encode(),
                event=_envelope(settings, "aws.events", "Scheduled Event", arn))


def _schedule_plan(key: str, record: Mapping[str, Any], settings: Settings, topics: TopicNames) -> Plan | None:
    if record.get("State", "ENABLED") != "ENABLED":
        return None
    arn = schedule_arn(settings.region, settings.account, record["GroupName"], record["Name"])
    target = record["Target"]
    parameters = target.get("EventBridgeParameters") or {}
    window = record.get("FlexibleTimeWindow") or {}
    topic, error = _target_topic(target["Arn"], topics)
    dead_letter, dead_letter_error = _target_topic((target.get("DeadLetterConfig") or {}).get("Arn"), topics)
    timing_fields = [record.get(name) for name in ("ScheduleExpression", "ScheduleExpressionTimezone", "StartDate",
                                                   "EndDate", "LastModificationDate")]
    return Plan(
        id=key, timing=schedule_timing(record), version=orjson.dumps(timing_fields).decode(),
        since=record.get("LastModificationDate") or record["CreationDate"], kind="schedule", arn=arn,
        topic=topic, key=None,
        event=_envelope(settings, parameters.get("Source", "aws.scheduler"),
                        parameters.get("DetailType", "Scheduled Event"), arn),
        input=target.get("Input"), input_is_detail=topic is not None and topics.bus_of(topic) is not None,
        window_s=60.0 * (window.get("MaximumWindowInMinutes") or 0) if window.get("Mode") == "FLEXIBLE" else 0.0,
        delete_after=record.get("ActionAfterCompletion") == "DELETE",
        dead_letter_topic=dead_letter if dead_letter_error is None else None, error=error,
        target={name: target[name] for name in JOB_TARGET if name in target},
        via_delivery=topic == topics.deliveries,
    )


def _target_topic(arn: str | None, topics: TopicNames) -> tuple[str | None, str | None]:
    """(topic, None), or (None, why not): the same ARN mapping as rules' targets; the deliveries
    topic for a target the delivery service serves (an API destination, a function, another
    cluster's topic).
    (A dead-letter ARN is always an SQS queue's: the Scheduler API refuses any other.)"""
    if not arn:
        return None, "no ARN"
    try:
        ref = parse_target_arn(arn)
    except ValueError as exc:
        return None, str(exc)
    if ref.kind == "bus":
        return topics.bus(ref.name), None
    if ref.kind in ("api-destination", "function") or (ref.kind == "topic" and ref.cluster != LOCAL_CLUSTER):
        return topics.deliveries, None
    return ref.name, None  # a topic of this cluster
