"""A rule's target compiled once for the hot path: rule identity, input shaping, retry policy
and sink.

Everything that can be decided from the configuration (the sink, the shaper, the policy, the
dead-letter sink, the record headers) is decided here, when the rule changes, so that sending
one event costs a sink call (and a payload call for a target that shapes its input).
A target that can never be delivered to (an unknown cluster, a malformed ARN, an invalid
input spec or retry policy) still compiles: each event it matches goes to the dead-letter
queue with the reason, because busbar drops nothing without a record of why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

import orjson

from streams.arns import parse_target_arn
from streams.envelope import format_time
from streams.input_shaping import InvalidInputSpec, compile_input
from streams.input_shaping.http_parameters import DynamicParameters
from streams.jobs import Job
from streams.metrics import TARGET_DELIVERIES, TARGET_FAILURES
from streams.router.delivery import DeliveryError, Destinations, Headers, RetryPolicy, Sink, Unroutable
from streams.router.forwarding import forwarding_headers
from streams.router.ledger import Batch

log = logging.getLogger(__name__)

SHAPING_KEYS = ("Input", "InputPath", "InputTransformer")
Payload = Callable[[dict[str, Any], bytes, int], bytes]


@lru_cache(maxsize=8)
def ingestion_time(seconds: int) -> str:
    """EventBridge's ingestion time format (whole seconds); cached by the second because a
    batch's records share a few (cached by the millisecond, it missed for nearly every record)."""
    return format_time(datetime.fromtimestamp(seconds, UTC))


class Target:
    """One target of one enabled rule. `send` is called once per matching event."""

    __slots__ = ("arn", "bus", "rule", "rule_arn", "spec", "sink", "dead_letter", "headers", "policy", "error",
                 "labels", "forwards", "_payload", "_send", "_max_bytes", "_shaper", "_http", "_sends_jobs")

    def __init__(self, *, bus: str, rule: str, rule_arn: str, spec: dict[str, Any],
                 destinations: Destinations) -> None:
        self.bus, self.rule, self.rule_arn, self.spec = bus, rule, rule_arn, spec
        self.arn = str(spec.get("Arn", ""))
        self.headers: Headers = [("busbar-rule", rule.encode()), ("busbar-bus", bus.encode())]
        self.labels = (bus, rule, str(spec.get("Id", "")))  # of its metrics series, exported from the start
        TARGET_DELIVERIES.add(self.labels, 0)
        TARGET_FAILURES.add(self.labels, 0)
        self.policy = RetryPolicy()
        self.dead_letter = self._dead_letter_sink(destinations)
        self._shaper = None
        self._http: DynamicParameters | None = None
        self._payload: Payload | None = None  # None: the event as it came
        self.sink: Sink | None = None
        self.error: str | None = None
        self.forwards = False  # puts events on another bus, which may not pass them on (router/forwarding.py)
        self._sends_jobs = False  # sends delivery jobs (API destinations, functions), not the event itself
        try:
            self.policy = RetryPolicy.of(spec.get("RetryPolicy"))
            ref = parse_target_arn(self.arn)
            self._sends_jobs = ref.kind in ("api-destination", "function")
            self.sink = destinations.sink(ref)
            self._payload = self._choose_payload(ref.kind)
            if ref.kind == "bus":
                self.forwards = True
                self.headers = forwarding_headers(self.headers, bus)
        except (ValueError, InvalidInputSpec) as exc:  # Unroutable, UnsupportedTarget, bad ARN/spec/policy
            self.sink = None
            self.error = f"target {spec.get('Id')!r} cannot be delivered to: {exc}"
            log.error("rule %s/%s: %s; its events go to the dead-letter queue", bus, rule, self.error)
        self._send = self.sink.send if self.sink is not None else None
        self._max_bytes = self.sink.max_bytes if self.sink is not None else 0

    def __str__(self) -> str:
        return f"rule {self.bus}/{self.rule} target {self.spec.get('Id')}"

    def _dead_letter_sink(self, destinations: Destinations) -> Sink | None:
        """The target's own DLQ, or None for the bus DLQ (also when its ARN is unusable)."""
        arn = (self.spec.get("DeadLetterConfig") or {}).get("Arn")
        if not arn:
            return None
        try:
            ref = parse_target_arn(arn)
            if ref.kind != "topic":
                raise Unroutable("a dead-letter queue must be a queue or a topic")
            return destinations.sink(ref)
        except ValueError as exc:
            log.error("%s: dead-letter ARN %s unusable (%s); using the bus DLQ", self, arn, exc)
            return None

    def _choose_payload(self, kind: str) -> Payload | None:
        """How the record's value is made from the event; None when it is the event's own bytes
        (saves a call per record on the hot path). A bus target always gets the event unchanged."""
        shaped = None
        if kind != "bus" and any(key in self.spec for key in SHAPING_KEYS):
            self._shaper = compile_input(self.spec)
            shaped = self._shaped
        if kind == "api-destination":
            http = DynamicParameters(self.spec.get("HttpParameters") or {})
            self._http = http if http.any else None
            return partial(self._delivery_record, shaped or self._raw)
        if kind == "function":
            return partial(self._delivery_record, shaped or self._raw)
        return shaped

    @staticmethod
    def _raw(event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        return raw

    def _shaped(self, event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        return self._shaper.shape(event, raw, rule_arn=self.rule_arn, rule_name=self.rule,  # type: ignore[union-attr]
                                  ingestion_time=ingestion_time(timestamp_ms // 1000))

    def _delivery_record(self, shaped: Payload, event: dict[str, Any], raw: bytes, timestamp_ms: int) -> bytes:
        """Work for the HTTP delivery workers or a function's agent: the router itself never talks
        HTTP nor runs a handler. The same record goes through the retry path when they fail."""
        target = self.spec
        if self._http is not None:  # JSONPath values, read from this event
            target = {**self.spec, "HttpParameters": self._http.resolve(event)}
        return orjson.dumps({
            "bus": self.bus, "rule": self.rule, "rule_arn": self.rule_arn, "target": target,
            "payload": shaped(event, raw, timestamp_ms).decode(), "event_id": event.get("id"), "attempt": 0,
            "timestamp_ms": timestamp_ms,
        })

    def job(self, value: bytes, key: bytes | None, headers: Headers, timestamp_ms: int) -> Job:
        """The job that delivers a record this target failed to send (router/delivery.py `Route`)."""
        if self._sends_jobs:  # the record is a job already, for the deliveries topic
            return Job.decode(value, timestamp_ms)
        return Job.for_record(target=self.spec, bus=self.bus, rule=self.rule, value=value, key=key, headers=headers,
                              timestamp_ms=timestamp_ms)

    @property
    def reads_event(self) -> bool:
        """Whether `send` needs the decoded event; without, it sends the record's own bytes."""
        return self._payload is not None

    def send(self, event: dict[str, Any] | None, raw: bytes, key: bytes | None, timestamp_ms: int, now_ms: int,
             batch: Batch) -> None:
        """Hot path: send one matched event; its sink reports the outcome to the batch.
        `event` may be None for a target that does not read it (reads_event)."""
        send = self._send
        if send is None:
            batch.reject(self, raw, key, self.error or "")
            return
        if now_ms - timestamp_ms > self.policy.max_age_ms:
            batch.reject(self, raw, key, f"event older than MaximumEventAgeInSeconds={self.policy.max_age_ms // 1000}")
            return
        value = raw
        if self._payload is not None:
            try:
                value = self._payload(event, raw, timestamp_ms)  # type: ignore[arg-type]
            except (ValueError, RecursionError) as exc:
                batch.reject(self, raw, key, f"input shaping failed: {exc}")
                return
            if len(value) > self._max_bytes:
                batch.reject(self, raw, key, f"the target's input is {len(value)} bytes, more than the "
                                             f"{self._max_bytes} its destination accepts")
                return
        done = batch.expect(self)
        try:
            send(value, key, self.headers, done)
        except Exception as exc:  # a sink must report, not raise; if one does, this target fails, not the record
            done.failed(DeliveryError(f"sending failed: {exc!r}"[:1000], retriable=False), value, key)
