"""Readiness of a worker as an operator or a load balancer needs it: can it reach Kafka, is every
subsystem ready."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from confluent_kafka.admin import AdminClient

PROBE_TTL_S = 1.0


class KafkaProbe:
    """Asks the cluster for metadata at most once a second, so /health can be polled hard."""

    def __init__(self, bootstrap: str, timeout: float = 2.0) -> None:
        self._admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
        self._timeout = timeout
        self._checked_at = 0.0
        self._result: tuple[bool, str] = (False, "not checked yet")

    def _check(self) -> tuple[bool, str]:
        try:
            meta = self._admin.list_topics(timeout=self._timeout)
        except Exception as exc:  # noqa: BLE001 - any failure means unreachable; say which
            return False, str(exc)
        return bool(meta.brokers), f"{len(meta.brokers)} broker(s)"

    async def reachable(self) -> tuple[bool, str]:
        if time.monotonic() - self._checked_at > PROBE_TTL_S:
            self._result = await asyncio.get_running_loop().run_in_executor(None, self._check)
            self._checked_at = time.monotonic()
        return self._result


def health_report(kafka_ok: bool, kafka_detail: str, worker_running: bool,
                  waiting_for: list[str]) -> tuple[int, dict[str, Any]]:
    """200 only when the worker can do its job: Kafka answers, and every subsystem is ready
    (the router has its partitions and its rules), so a load balancer or `busbar up` never
    sends traffic to a worker that would sit on it."""
    healthy = kafka_ok and worker_running and not waiting_for
    body = {
        "status": "ok" if healthy else "unavailable",
        "kafka": {"reachable": kafka_ok, "detail": kafka_detail},
        "worker": {"running": worker_running, "waiting_for": waiting_for},
    }
    return (200 if healthy else 503), body
