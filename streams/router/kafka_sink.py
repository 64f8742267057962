"""A Kafka topic as a sink: the destination of topic and bus targets and of dead letters.

confluent-kafka reports each record's outcome through a callback taking `(KafkaError, Message)`;
this module turns that into the seam's `Done.ok()` / `Done.failed(DeliveryError)`, so nothing
else in the router knows Kafka's error codes.
"""

from __future__ import annotations

from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.router.delivery import DeliveryError, Done, Headers

# Transient by nature although librdkafka does not flag them retriable: the broker or the
# network was too slow this time. Anything else not flagged retriable (unknown topic, record
# too large, authorization) will fail the same way again, so it is dead-lettered at once, as
# EventBridge does for a target that does not exist.
TRANSIENT = frozenset({KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT, KafkaError._TRANSPORT,
                       KafkaError._ALL_BROKERS_DOWN, KafkaError.REQUEST_TIMED_OUT,
                       KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND})
QUEUE_FULL_WAIT_S = 0.05


def delivery_error(err: KafkaError) -> DeliveryError:
    return DeliveryError(err.str(), err.retriable() or err.code() in TRANSIENT)


def _report(done: Done, err: KafkaError | None, msg: Message) -> None:
    """The producer's delivery callback for one Done (bound once per Done with partial)."""
    if err is None:
        done.ok()
    else:
        done.failed(delivery_error(err), msg.value(), msg.key())


class KafkaTopicSink:
    """One topic on one cluster. `send` waits only while the producer's local queue is full
    (serving delivery reports frees it): a record refused there would otherwise never be
    reported, and its batch would wait for it forever."""

    __slots__ = ("producer", "topic", "max_bytes", "_produce")

    def __init__(self, producer: Producer, topic: str, max_bytes: int) -> None:
        self.producer, self.topic, self.max_bytes = producer, topic, max_bytes
        self._produce = producer.produce  # bound once: this is the hot path

    def send(self, value: bytes, key: bytes | None, headers: Headers, done: Done, timestamp_ms: int = 0) -> None:
        report = done.adapted
        if report is None:
            report = done.adapted = partial(_report, done)
        while True:
            try:
                # Positional: keyword arguments cost confluent-kafka a string conversion and a
                # dict lookup per keyword per call, ~1 us of a ~3.5 us produce (partition -1:
                # the partitioner's choice; timestamp 0: now).
                self._produce(self.topic, value, key, -1, report, None, timestamp_ms, headers)
                return
            except BufferError:
                self.producer.poll(QUEUE_FULL_WAIT_S)
            except KafkaException as exc:  # refused before sending: too large, unknown partition...
                err = exc.args[0]
                done.failed(delivery_error(err) if isinstance(err, KafkaError) else DeliveryError(str(exc), False),
                            value, key)
                return

    def __repr__(self) -> str:
        return f"KafkaTopicSink({self.topic!r})"
