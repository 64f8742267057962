"""A delivery job: one event on its way to one target, and the bookkeeping its retries add.

The same JSON object travels from the deliveries topic (or from the router, when a target
failed there) through retry topics to a dead-letter queue: `target` as configured (its Arn,
RetryPolicy, DeadLetterConfig), `bus`, `rule`, `payload` (what the target is sent), and for a
Kafka target `key_b64` and `headers` (the record's key and headers). `attempt` counts the
attempts made, `first_ms`/`last_ms` when the first and the last were made, `due_ms` when a
parked one may be tried again, `last_error` why the last failed, `timestamp_ms` when the event
reached its bus (what MaximumEventAgeInSeconds counts from). Keeping everything in the record
(not in a worker's memory) is what lets any worker, or the same one after a crash, take a parked
retry up where it was left. The record is built and read only here, by the router and the
delivery service alike.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import orjson

from streams.arns import TargetRef, parse_target_arn
from streams.retry_policy import TargetRetryPolicy
from streams.retry_schedule import backoff_s, tier_for

Headers = list[tuple[str, bytes]]
NO_AGE_LIMIT_MS = 2**62


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Job:
    record: dict[str, Any]
    timestamp_ms: int  # the event's (when it reached its bus), what MaximumEventAgeInSeconds counts from

    @classmethod
    def decode(cls, value: bytes, kafka_timestamp_ms: int) -> Job:
        """ValueError for a record that is not a delivery (it is dead-lettered as such)."""
        record = orjson.loads(value)
        if not (isinstance(record, dict) and isinstance(record.get("target"), dict) and "payload" in record):
            raise ValueError("not a delivery record (a JSON object with target and payload)")
        return cls(record, int(record.get("timestamp_ms") or kafka_timestamp_ms))

    @classmethod
    def for_record(cls, *, target: dict[str, Any], bus: str, rule: str, value: bytes, key: bytes | None,
                   headers: Headers, timestamp_ms: int, archived: bool = False) -> Job:
        """A job that sends `value` as a Kafka record (key and headers as given) to `target`.
        An archive's (`archived`) is stamped with `timestamp_ms` rather than the time it is
        written, and retried whatever the event's age: an archive keeps its events' bus times,
        and events of any age."""
        record: dict[str, Any] = {"bus": bus, "rule": rule, "target": target, "payload": value.decode(),
                                  "headers": [[name, data.decode()] for name, data in headers], "attempt": 0}
        if key is not None:
            record["key_b64"] = base64.b64encode(key).decode()
        if archived:
            record["record_ms"] = timestamp_ms
        return cls(record, timestamp_ms)

    def encode(self) -> bytes:
        return orjson.dumps({**self.record, "timestamp_ms": self.timestamp_ms})

    @property
    def target(self) -> dict[str, Any]:
        return self.record["target"]

    @property
    def ref(self) -> TargetRef:
        """Where the target's ARN points; ValueError (UnsupportedTarget) for an ARN of no known kind."""
        return parse_target_arn(str(self.target.get("Arn", "")))

    @property
    def payload(self) -> bytes:
        return str(self.record["payload"]).encode()

    @property
    def key(self) -> bytes | None:
        key = self.record.get("key_b64")
        return None if key is None else base64.b64decode(key)

    @property
    def headers(self) -> Headers:
        return [(str(name), str(value).encode()) for name, value in self.record.get("headers") or []]

    @property
    def record_ms(self) -> int | None:
        """The Kafka record's timestamp; None: the time it is written."""
        stamp = self.record.get("record_ms")
        return None if stamp is None else int(stamp)

    @property
    def attempts(self) -> int:
        return int(self.record.get("attempt", 0))

    @property
    def due_ms(self) -> int:
        return int(self.record.get("due_ms", 0))

    @property
    def max_attempts(self) -> int:
        """Attempts in all: the first and MaximumRetryAttempts retries."""
        return 1 + TargetRetryPolicy.of(self.target.get("RetryPolicy")).retries

    @property
    def max_age_ms(self) -> int:
        if self.record_ms is not None:  # an archive's write: no age limit
            return NO_AGE_LIMIT_MS
        return 1000 * TargetRetryPolicy.of(self.target.get("RetryPolicy")).max_age_s

    def attempted(self, error: str | None, at_ms: int | None = None) -> None:
        """Note one attempt (error None: it succeeded)."""
        at = now_ms() if at_ms is None else at_ms
        self.record["attempt"] = self.attempts + 1
        self.record.setdefault("first_ms", at)
        self.record["last_ms"] = at
        if error is not None:
            self.record["last_error"] = error

    def park(self, due_ms: int) -> int:
        """Note when it may be tried again; returns the retry tier (streams/retry_schedule.py) it waits in."""
        self.record["due_ms"] = due_ms
        return tier_for((due_ms - now_ms()) / 1000)

    def retry_or_why_not(self, error: str, retry_after_s: float | None = None) -> int | str:
        """After a failed attempt (noted with `attempted`): parked for its next attempt, the retry
        tier to wait in; or, when its RetryPolicy allows no more, why it is given up."""
        if self.attempts >= self.max_attempts:
            return f"{error} (MaximumRetryAttempts spent)"
        due = now_ms() + int(1000 * backoff_s(self.attempts, retry_after_s))
        if due - self.timestamp_ms > self.max_age_ms:
            return f"{error} (MaximumEventAgeInSeconds passes before the next retry)"
        return self.park(due)
