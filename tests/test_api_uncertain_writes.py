"""What the API answers while its broker does not answer (issue 12).

The broker is this module's own (the session broker is shared, and pausing it would stall
every other test): its JVM is stopped with SIGSTOP, as a long GC pause or a frozen VM looks
to clients, and resumed with SIGCONT. A write that Kafka does not confirm in time may still
be stored, so the answer must say that the outcome is unknown, never that it failed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from confluent_kafka import KafkaError, KafkaException

from streams.api.operations.events import failed_entry
from streams.embedded_kafka import EmbeddedKafka
from tests.support import WorkerProcess, embedded_broker, running, unique
from tests.test_api_support import client_for, read_topic

pytestmark = pytest.mark.kafka

WRITE_TIMEOUT_S = 5


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedKafka]:
    with embedded_broker(tmp_path_factory.mktemp("paused-kafka")) as kafka:
        try:
            yield kafka
        finally:
            resume(kafka)  # a stopped JVM ignores SIGTERM until it runs again


@pytest.fixture(scope="module")
def worker(broker: EmbeddedKafka, worker_logs: Path) -> Iterator[WorkerProcess]:
    env = {"BUSBAR_WRITE_TIMEOUT_S": str(WRITE_TIMEOUT_S)}
    with running(WorkerProcess(broker.bootstrap, extra_env=env), worker_logs) as process:
        yield process


@pytest.fixture(scope="module")
def events(worker: WorkerProcess) -> BaseClient:
    return client_for(worker.url)  # no retries: each call's own answer is what is checked


def resume(broker: EmbeddedKafka) -> None:
    if broker.process is not None:
        os.kill(broker.process.pid, signal.SIGCONT)


def all_threads_stopped(pid: int) -> bool:
    """Every thread of the process is in the stopped state (a thread busy in the kernel when the
    signal came stops only once it leaves it, later on a loaded machine)."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, IndexError):  # a thread that ended meanwhile
            continue
    return bool(states) and all(state in ("T", "t") for state in states)


@contextmanager
def paused(broker: EmbeddedKafka) -> Iterator[None]:
    assert broker.process is not None
    os.kill(broker.process.pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 10
        while not all_threads_stopped(broker.process.pid):
            assert time.monotonic() < deadline, "the broker's threads did not all stop within 10 s"
            time.sleep(0.01)
        yield
    finally:
        resume(broker)


def put_one(events: BaseClient, bus: str, marker: str) -> dict[str, object]:
    return events.put_events(Entries=[{"EventBusName": bus, "Source": "test", "DetailType": "Paused",
                                       "Detail": json.dumps({"marker": marker})}])


def on_bus(broker: EmbeddedKafka, worker: WorkerProcess, bus: str, event_id: str) -> list[dict[str, object]]:
    topic = worker.topics.bus(bus)
    return read_topic(broker.bootstrap, topic, lambda records: any(r["id"] == event_id for r in records), 60.0)


def test_only_refusals_before_the_log_count_as_not_stored() -> None:
    refused = failed_entry("id-1", KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)), 5)
    assert refused["ErrorMessage"].startswith("The event was not stored")
    assert "EventId" not in refused  # nothing under that id can ever appear
    for outcome in (KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT)), TimeoutError("no delivery report"),
                    KafkaException(KafkaError(KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND))):
        unknown = failed_entry("id-2", outcome, 5)
        assert unknown["EventId"] == "id-2"
        assert unknown["ErrorCode"] == "InternalFailure"
        assert unknown["ErrorMessage"].startswith("The event may or may not have been stored")


def test_unconfirmed_event_is_reported_as_uncertain_and_is_in_fact_stored(
        broker: EmbeddedKafka, worker: WorkerProcess, events: BaseClient) -> None:
    bus = unique("paused")
    events.create_event_bus(Name=bus)
    # The producer learns the new topic's leader first, so the paused broker is sent the record
    # itself (a record still waiting for metadata would certainly not be stored).
    assert put_one(events, bus, "warm-up")["FailedEntryCount"] == 0
    marker = unique("m")
    with paused(broker):
        started = time.monotonic()
        answer = put_one(events, bus, marker)
        waited = time.monotonic() - started
    assert answer["FailedEntryCount"] == 1, (answer, waited)
    [entry] = answer["Entries"]
    assert entry["ErrorCode"] == "InternalFailure"
    message = entry["ErrorMessage"]
    assert message.startswith("The event may or may not have been stored")
    assert "Retrying can store it twice" in message
    assert entry["EventId"] in message
    # it waited for the producer's own deadline, no less, and answered soon after
    assert WRITE_TIMEOUT_S <= waited < WRITE_TIMEOUT_S + 10
    records = on_bus(broker, worker, bus, entry["EventId"])
    stored = [r for r in records if r["id"] == entry["EventId"]]
    assert [r["detail"]["marker"] for r in stored] == [marker]


def test_a_short_pause_within_the_timeout_is_a_plain_success(
        broker: EmbeddedKafka, worker: WorkerProcess, events: BaseClient) -> None:
    bus = unique("blip")
    events.create_event_bus(Name=bus)
    answers: list[dict[str, object]] = []
    with paused(broker):
        call = threading.Thread(target=lambda: answers.append(put_one(events, bus, "blip")))
        call.start()
        time.sleep(WRITE_TIMEOUT_S / 2)
    call.join(WRITE_TIMEOUT_S + 15)
    [answer] = answers
    assert answer["FailedEntryCount"] == 0
    [entry] = answer["Entries"]
    assert "ErrorCode" not in entry
    assert any(r["id"] == entry["EventId"] for r in on_bus(broker, worker, bus, entry["EventId"]))


def test_unconfirmed_config_write_says_it_may_have_been_stored(broker: EmbeddedKafka, events: BaseClient) -> None:
    bus = unique("cfg")
    events.create_event_bus(Name=bus)
    pattern = json.dumps({"source": ["test"]})
    with paused(broker), pytest.raises(ClientError) as exc:
        events.put_rule(Name="r", EventBusName=bus, EventPattern=pattern)
    error = exc.value.response["Error"]
    assert error["Code"] == "InternalException"
    assert error["Message"].startswith("The change may or may not have been stored")
    # and in this case it was: the rule appears once the broker answers again
    deadline = time.monotonic() + 60
    while True:
        try:
            assert events.describe_rule(Name="r", EventBusName=bus)["EventPattern"] == pattern
            break
        except events.exceptions.ResourceNotFoundException:
            assert time.monotonic() < deadline, "the unconfirmed rule never appeared"
            time.sleep(0.5)
