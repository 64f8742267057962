"""What a Kafka write's outcome means for the one who asked for it.

A record Kafka did not confirm in time may still be in the log (the broker can store it and
fail to answer), so only some failures may be reported as "not stored"; the rest are
uncertain, and an answer must say so. The API's PutEvents and the config store's writes
share this reading, and the deadline a producer gives up at.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError

# Delivery errors that mean the record never reached the log: refused before sending, or
# refused by the broker for what the record is, so no earlier attempt can have been stored.
NOT_STORED = frozenset({
    KafkaError.MSG_SIZE_TOO_LARGE, KafkaError._UNKNOWN_TOPIC,
    KafkaError._UNKNOWN_PARTITION, KafkaError._INVALID_ARG, KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.INVALID_RECORD, KafkaError._QUEUE_FULL,
})


def never_stored(err: KafkaError) -> bool:
    return err.code() in NOT_STORED


def bounded_producer(timeout_s: float) -> dict[str, Any]:
    """Producer settings under which every record is reported within timeout_s: no request
    hangs on a lost broker, and none is answered before Kafka has said what it will say."""
    timeout_ms = int(timeout_s * 1000)
    return {"message.timeout.ms": timeout_ms, "request.timeout.ms": min(30_000, timeout_ms)}
