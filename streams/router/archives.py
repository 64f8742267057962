"""Archives as the router runs them: each one an internal rule of its bus with one target, its
archive topic, so archiving costs the router what one more matching rule costs (a match the
bus's matcher finds with the others, and one produce per archived event).

An archive's rule is named `archive/<name>`: rule names cannot hold '/', so it never collides
with a user's rule, and its metrics series say which archive they count. It is never handed
replayed events (router/replays.py), so nothing is archived twice.
"""

from __future__ import annotations

from typing import Any

from streams.jobs import Job
from streams.router.delivery import DeliveryError, Headers
from streams.router.ledger import Batch
from streams.router.targets import Target

ARCHIVE_RULE_PREFIX = "archive/"
# An archive without a pattern keeps every event of its bus; every valid envelope has a source.
EVERY_EVENT = '{"source": [{"exists": true}]}'


def archive_pattern(record: dict[str, Any]) -> str:
    return record.get("EventPattern") or EVERY_EVENT


class ArchiveTarget(Target):
    """An archive's one target. It keeps the bus record as it came, stamped with the bus record's
    own time, so the archive is in arrival order however late the router archived it and a
    replay finds a time window by the times events reached the bus. An archive keeps events of
    any age: a target's MaximumEventAgeInSeconds is not its concern."""

    __slots__ = ()

    def job(self, value: bytes, key: bytes | None, headers: Headers, timestamp_ms: int) -> Job:
        """An archive write retried later keeps its event's bus time (that of its batch's oldest
        record) and is retried whatever the event's age."""
        return Job.for_record(target=self.spec, bus=self.bus, rule=self.rule, value=value, key=key, headers=headers,
                              timestamp_ms=timestamp_ms, archived=True)

    def send(self, event: dict[str, Any] | None, raw: bytes, key: bytes | None, timestamp_ms: int, now_ms: int,
             batch: Batch) -> None:
        send = self._send
        if send is None:
            batch.reject(self, raw, key, self.error or "")
            return
        done = batch.expect(self)
        try:
            send(raw, key, self.headers, done, timestamp_ms)
        except Exception as exc:  # a sink must report, not raise; if one does, this target fails, not the record
            done.failed(DeliveryError(f"sending failed: {exc!r}"[:1000], retriable=False), raw, key)
