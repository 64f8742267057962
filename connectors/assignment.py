"""Which connector tasks this worker runs, decided by a Kafka consumer group.

Every worker joins one group on the connector-tasks topic (nothing is ever written to it);
each task hashes to one of its partitions and runs on the worker that partition is assigned
to. Kafka's group coordinator thus does what Kafka Connect's leader does: spread the tasks,
and when a worker leaves or dies (its session times out), hand its partitions, and with them
its tasks, to the others.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer, TopicPartition

log = logging.getLogger(__name__)

TASK_PARTITIONS = 12
POLL_S = 0.2


def task_partition(connector: str, task: int, partitions: int = TASK_PARTITIONS) -> int:
    return zlib.crc32(f"{connector}/{task}".encode()) % partitions


class TaskAssignment:
    """Holds this worker's membership; `on_change` hears the partitions owned after each change."""

    def __init__(self, bootstrap: str, topic: str, group_id: str, group_config: Mapping[str, Any],
                 on_change: Callable[[frozenset[int]], None]) -> None:
        self._topic = topic
        self._on_change = on_change
        self._owned: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="busbar-connect-assignment", daemon=True)
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False,
                                   "auto.offset.reset": "latest", "log_level": 3, **group_config})

    def start(self) -> None:
        self._consumer.subscribe([self._topic], on_assign=self._assigned, on_revoke=self._revoked,
                                 on_lost=self._revoked)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # a worker that failed to start stops what it had not started
            self._thread.join(5)
        self._consumer.close()  # leaves the group now, so the others take the tasks without waiting

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(POLL_S)  # keeps the membership alive; the topic stays empty
            if msg is not None and msg.error() is not None:
                log.warning("connector-tasks topic %s: %s", self._topic, msg.error())

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned.update(p.partition for p in partitions)
        self._on_change(frozenset(self._owned))

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned.difference_update(p.partition for p in partitions)
        self._on_change(frozenset(self._owned))
