"""A delivery record as the router writes it, and the bookkeeping its retries add.

The same JSON object travels from the deliveries topic through retry topics to a dead-letter
queue: `attempt` counts the attempts made, `first_ms`/`last_ms` when the first and the last
were made, `due_ms` when a parked one may be tried again, `last_error` why the last failed.
Keeping everything in the record (not in a worker's memory) is what lets any worker, or the
same one after a crash, take a parked retry up where it was left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.arns import parse_named_arn
from streams.retry_policy import TargetRetryPolicy


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Job:
    record: dict[str, Any]
    timestamp_ms: int  # the event's (when it reached its bus), what MaximumEventAgeInSeconds counts from
    fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def decode(cls, value: bytes, kafka_timestamp_ms: int) -> Job:
        """ValueError for a record that is not a delivery (it is dead-lettered as such)."""
        record = orjson.loads(value)
        if not (isinstance(record, dict) and isinstance(record.get("target"), dict) and "payload" in record):
            raise ValueError("not a delivery record (a JSON object with target and payload)")
        return cls(record, int(record.get("timestamp_ms") or kafka_timestamp_ms))

    def encode(self) -> bytes:
        return orjson.dumps({**self.record, "timestamp_ms": self.timestamp_ms})

    @property
    def target(self) -> dict[str, Any]:
        return self.record["target"]

    @property
    def destination(self) -> str:
        """The API destination's name; ValueError for an ARN of anything else."""
        return parse_named_arn(str(self.target.get("Arn", "")), "api-destination")[0]

    @property
    def payload(self) -> bytes:
        return str(self.record["payload"]).encode()

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
        return 1000 * TargetRetryPolicy.of(self.target.get("RetryPolicy")).max_age_s

    def attempted(self, error: str | None) -> None:
        """Note one attempt (error None: it succeeded)."""
        at = now_ms()
        self.record["attempt"] = self.attempts + 1
        self.record.setdefault("first_ms", at)
        self.record["last_ms"] = at
        if error is not None:
            self.record["last_error"] = error

    def park(self, due_ms: int) -> None:
        self.record["due_ms"] = due_ms
