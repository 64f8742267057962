"""Commits of the worker's Faust consumer never pass a record still being handled (unit: no broker;
the consumer is built but not started)."""

from __future__ import annotations

from collections.abc import Iterator

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from streams.faust_consumer import RewindingConsumer, RewindingTransport

TOPIC = "functions-topic"
PARTITION = TP(TOPIC, 0)


async def _ignore(*_: object) -> None:
    return None


@pytest.fixture
def consumer() -> Iterator[RewindingConsumer]:
    app = faust.App("faust-consumer-test", broker="kafka://127.0.0.1:1")
    app.transport = RewindingTransport(app.conf.broker_consumer, app)
    consumer = app.transport.create_consumer(callback=_ignore, on_partitions_revoked=_ignore,
                                             on_partitions_assigned=_ignore)
    app.topics._acking_topics.add(TOPIC)  # what subscribing an agent to the topic does
    yield consumer


def committable(consumer: RewindingConsumer) -> int | None:
    """The offset a commit now would write for the partition (None: nothing to commit)."""
    return consumer._filter_committable_offsets([PARTITION]).get(PARTITION)


def delivered(consumer: RewindingConsumer, *offsets: int) -> list[Message]:
    messages = [Message(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None) for offset in offsets]
    for message in messages:
        consumer.track_message(message)
    return messages


def test_nothing_is_committed_past_the_first_record_in_hand_when_none_was_committed(
        consumer: RewindingConsumer) -> None:
    messages = delivered(consumer, 0, 1, 2, 3, 4)
    consumer.ack(messages[3])
    consumer.ack(messages[4])
    assert committable(consumer) is None  # 0, 1 and 2 are still being handled
    consumer.ack(messages[0])
    assert committable(consumer) == 1
    consumer.ack(messages[1])
    consumer.ack(messages[2])
    assert committable(consumer) == 5


def test_one_record_in_hand_right_after_the_commit_holds_the_next_commit(consumer: RewindingConsumer) -> None:
    consumer._committed_offset[PARTITION] = 10
    messages = delivered(consumer, 10, 11, 12)
    consumer.ack(messages[1])
    consumer.ack(messages[2])
    assert committable(consumer) is None  # Faust's own check lets this gap of one pass
    consumer.ack(messages[0])
    assert committable(consumer) == 13


def test_with_nothing_in_hand_the_acknowledged_run_is_committed(consumer: RewindingConsumer) -> None:
    for message in delivered(consumer, 0, 1, 2):
        consumer.ack(message)
    assert committable(consumer) == 3
