"""The PutEvents producer's own bookkeeping, with a real librdkafka producer and no broker: a
record refused before sending is reported at once, and requests whose records get no delivery
report stop waiting at the deadline, each with its own answer."""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka import KafkaError, KafkaException

from streams.api.operations import events
from streams.api.operations.events import KafkaEventSink
from streams.embedded_kafka import free_port

TIMEOUT_S = 0.5


@pytest.fixture
def sink() -> KafkaEventSink:
    """Not started: no poll thread serves delivery reports, as when Kafka never answers."""
    return KafkaEventSink(f"127.0.0.1:{free_port()}", TIMEOUT_S)


def test_a_record_refused_before_sending_is_reported_at_once(sink: KafkaEventSink) -> None:
    too_large = b"x" * 2_000_000  # over librdkafka's message.max.bytes
    started = time.monotonic()
    (outcome,) = asyncio.run(sink.send_all([("t", b"k", too_large)]))
    assert time.monotonic() - started < TIMEOUT_S
    assert isinstance(outcome, KafkaException)
    assert outcome.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


def test_unreported_requests_stop_waiting_at_the_deadline(sink: KafkaEventSink,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "REPORT_GRACE_S", 0.2)

    async def requests() -> list[list[BaseException | None]]:
        first = asyncio.ensure_future(sink.send_all([("t", b"a", b"1"), ("u", b"b", b"2")]))
        await asyncio.sleep(0.3)  # a later request, with a later deadline
        second = asyncio.ensure_future(sink.send_all([("t", b"c", b"3")]))
        return [await first, await second]

    started = time.monotonic()
    first, second = asyncio.run(requests())
    elapsed = time.monotonic() - started
    assert [type(outcome) for outcome in first + second] == [TimeoutError] * 3
    assert 0.3 + TIMEOUT_S + 0.2 <= elapsed < 0.3 + TIMEOUT_S + 0.2 + 2 * events.SWEEP_S + 0.5
