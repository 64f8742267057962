"""The Kafka side of owning one state partition: a transactional producer per partition.

Each partition of the schedule-state topic has one transactional id (`<app id>-scheduler-<n>`).
Whoever takes a partition over first calls init_transactions with that id, which aborts
whatever the previous owner left open and fences it: a previous owner still running (a zombie
after a long pause) can no longer commit anything. The new owner then commits a claim record
and reads the partition up to it, so it knows every firing committed before it took over.
A firing is committed in one transaction with its state record, so the event exists if and
only if its time is recorded as fired: nothing is fired twice or lost across owners.
"""

from __future__ import annotations

import uuid
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from streams.scheduler.plans import Output
from streams.scheduler.state import CLAIM_KEY, State, encode_state

TRANSACTION_TIMEOUT_S = 30.0
COMMIT_ATTEMPTS = 3
FENCED = frozenset({KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH})
PRODUCER_CONFIG: dict[str, Any] = {
    "acks": "all",
    "linger.ms": 5,
    # A transaction begun right after the last commit waits for that commit's markers (the broker
    # answers CONCURRENT_TRANSACTIONS until then); librdkafka's 100 ms back-off made that wait a
    # firing's lateness, so it asks again sooner.
    "retry.backoff.ms": 5,
    "retry.backoff.max.ms": 50,
    "transaction.timeout.ms": 60_000,
    "message.timeout.ms": 30_000,
    "queue.buffering.max.messages": 1_000_000,
    "log_level": 3,
}


class Fenced(RuntimeError):
    """Another worker owns this partition now: this one must stop firing it."""


class NotCommitted(RuntimeError):
    """The transaction was aborted; what it held is still due."""


class Uncertain(RuntimeError):
    """Kafka did not say whether the transaction committed: the partition must be claimed
    again (which settles the transaction) and its state read back before firing more."""


class PartitionOwner:
    def __init__(self, bootstrap: str, app_id: str, state_topic: str, partition: int) -> None:
        self.state_topic = state_topic
        self.partition = partition
        self.nonce = uuid.uuid4().hex.encode()
        self._producer = Producer({"bootstrap.servers": bootstrap,
                                   "transactional.id": f"{app_id}-scheduler-{partition}", **PRODUCER_CONFIG})

    def claim(self) -> None:
        """Fence the previous owner and write the claim the partition is read up to."""
        self._producer.init_transactions(TRANSACTION_TIMEOUT_S)
        self._commit([Output(self.state_topic, CLAIM_KEY, self.nonce)], {})

    def commit(self, outputs: list[Output], states: dict[str, State | None]) -> None:
        """Write the firings and their states atomically; Fenced or NotCommitted if not."""
        self._commit(outputs, states)

    def _commit(self, outputs: list[Output], states: dict[str, State | None]) -> None:
        producer = self._producer
        try:
            producer.begin_transaction()
            for out in outputs:
                partition = self.partition if out.topic == self.state_topic else -1
                producer.produce(out.topic, out.value, out.key, partition=partition, headers=out.headers or None)
            for schedule_id, state in states.items():
                producer.produce(self.state_topic, encode_state(state), schedule_id.encode(), partition=self.partition)
            self._commit_transaction()
        except KafkaException as exc:
            error = exc.args[0]
            if error.code() in FENCED:
                raise Fenced(str(error)) from None
            if not error.txn_requires_abort():
                raise Uncertain(str(error)) from None
            try:
                producer.abort_transaction(TRANSACTION_TIMEOUT_S)
            except KafkaException as abort_exc:
                raise Uncertain(str(abort_exc.args[0])) from None
            raise NotCommitted(str(error)) from None

    def _commit_transaction(self) -> None:
        """librdkafka's advice: a commit that failed with a retriable error may be called again."""
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                self._producer.commit_transaction(TRANSACTION_TIMEOUT_S)
                return
            except KafkaException as exc:
                if not exc.args[0].retriable() or attempt == COMMIT_ATTEMPTS - 1:
                    raise

    def topic_exists(self, topic: str) -> bool:
        try:
            metadata = self._producer.list_topics(topic, timeout=5.0).topics.get(topic)
        except KafkaException:
            return False
        return metadata is not None and metadata.error is None

    def close(self) -> None:
        self._producer.flush(1.0)
