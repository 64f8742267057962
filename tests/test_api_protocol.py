"""The wire protocol beyond boto3's happy path: raw HTTP errors, size limit, SigV4, quotas.

A second worker runs with credentials configured and small quotas, so refusals can be shown
to write nothing and limits can be reached quickly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support import WorkerProcess, http_status, unique
from tests.test_api_support import client_for, high_watermarks, raw_post

pytestmark = pytest.mark.kafka

KEY_ID, SECRET = "AKIDBUSBARTEST", "s3cret/with+chars"


@pytest.fixture(scope="module")
def strict_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(kafka_bootstrap, extra_env={
        "BUSBAR_ACCESS_KEY_ID": KEY_ID, "BUSBAR_SECRET_ACCESS_KEY": SECRET,
        "BUSBAR_MAX_RULES_PER_BUS": "2", "BUSBAR_MAX_TARGETS_PER_RULE": "2", "BUSBAR_MAX_REQUEST_BYTES": "300000",
    }).start(worker_logs)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def signed(strict_worker: WorkerProcess) -> BaseClient:
    return client_for(strict_worker.url, KEY_ID, SECRET)


def test_malformed_json_is_a_serialization_exception(busbar_worker: WorkerProcess) -> None:
    status, body, headers = raw_post(busbar_worker.url, b'{"Name": ', target="AWSEvents.DescribeEventBus")
    assert status == 400
    assert body["__type"] == "SerializationException"
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"]


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"Name": "\xff"}', "byte 0xff at byte offset 10 (invalid start byte)"),
    ('{"Name": "caf\u00e9'.encode() + b'\xc3("}', "byte 0xc3 at byte offset 15 (invalid continuation byte)"),
    (b'{"Name": "\xed\xa0\x80"}', "byte 0xed at byte offset 10 (invalid continuation byte)"),  # a UTF-8 surrogate
])
def test_invalid_utf8_names_the_byte_and_its_offset(busbar_worker: WorkerProcess, body: bytes, expected: str) -> None:
    status, reply, _ = raw_post(busbar_worker.url, body, target="AWSEvents.DescribeEventBus")
    assert (status, reply["__type"]) == (400, "SerializationException")
    assert reply["message"] == f"The request body is not valid UTF-8: {expected}."


def test_wrong_types_and_unknown_operations(busbar_worker: WorkerProcess) -> None:
    status, body, _ = raw_post(busbar_worker.url, b'{"Limit": "ten"}', target="AWSEvents.ListRules")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body, _ = raw_post(busbar_worker.url, b'["not", "an", "object"]', target="AWSEvents.ListRules")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body, _ = raw_post(busbar_worker.url, b'{"Limit": 1000}', target="AWSEvents.ListRules")
    assert (status, body["__type"]) == (400, "ValidationException")
    for target in ("AWSEvents.CreateArchive2", "Kinesis_20131202.ListStreams", None):
        status, body, _ = raw_post(busbar_worker.url, b"{}", target=target)
        assert (status, body["__type"]) == (400, "UnknownOperationException"), target
    status, body, _ = raw_post(busbar_worker.url, b"", target="AWSEvents.ListEventBuses")
    assert status == 200 and any(bus["Name"] == "default" for bus in body["EventBuses"])


def test_oversized_request_is_refused(busbar_worker: WorkerProcess) -> None:
    body = json.dumps({"Entries": [{"Source": "s", "DetailType": "d", "Detail": json.dumps({"x": "y" * 1_100_000})}]})
    status, reply, _ = raw_post(busbar_worker.url, body.encode(), target="AWSEvents.PutEvents")
    assert (status, reply["__type"]) == (413, "RequestEntityTooLargeException")


def test_other_routes_still_served(busbar_worker: WorkerProcess) -> None:
    assert http_status(f"{busbar_worker.url}/health") == 200
    assert http_status(f"{busbar_worker.url}/") == 200  # Faust's own index: GET / is not the API's


def test_signed_requests_are_accepted(signed: BaseClient) -> None:
    name = unique("signed")
    signed.create_event_bus(Name=name)
    assert signed.describe_event_bus(Name=name)["Name"] == name
    assert signed.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])["FailedEntryCount"] == 0


@pytest.mark.parametrize(("key_id", "secret", "code"), [
    (KEY_ID, "wrong-secret", "InvalidSignatureException"),
    ("AKIDUNKNOWN", SECRET, "UnrecognizedClientException"),
])
def test_refused_signatures_write_nothing(strict_worker: WorkerProcess, signed: BaseClient, key_id: str,
                                          secret: str, code: str) -> None:
    intruder = client_for(strict_worker.url, key_id, secret)
    name = unique("refused")
    with pytest.raises(ClientError) as exc:
        intruder.create_event_bus(Name=name)
    assert exc.value.response["Error"]["Code"] == code
    with pytest.raises(signed.exceptions.ResourceNotFoundException):
        signed.describe_event_bus(Name=name)

    topic = strict_worker.topics.bus("default")
    before = high_watermarks(strict_worker.bootstrap, topic)
    with pytest.raises(ClientError) as exc:
        intruder.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert exc.value.response["Error"]["Code"] == code
    assert high_watermarks(strict_worker.bootstrap, topic) == before


def test_unsigned_request_is_refused(strict_worker: WorkerProcess) -> None:
    status, body, _ = raw_post(strict_worker.url, b"{}", target="AWSEvents.ListEventBuses")
    assert (status, body["__type"]) == (400, "MissingAuthenticationTokenException")


def test_quotas(signed: BaseClient) -> None:
    bus = unique("quota")
    signed.create_event_bus(Name=bus)
    for name in ("r1", "r2"):
        signed.put_rule(Name=name, EventBusName=bus, EventPattern='{"source": ["s"]}')
    with pytest.raises(signed.exceptions.LimitExceededException):
        signed.put_rule(Name="r3", EventBusName=bus, EventPattern='{"source": ["s"]}')
    signed.put_rule(Name="r1", EventBusName=bus, EventPattern='{"source": ["t"]}')  # updating is no new rule

    topic = "arn:aws:kafka:us-east-1:000000000000:topic/local/quota"
    signed.put_targets(Rule="r1", EventBusName=bus, Targets=[{"Id": "a", "Arn": topic}, {"Id": "b", "Arn": topic}])
    signed.put_targets(Rule="r1", EventBusName=bus, Targets=[{"Id": "a", "Arn": topic, "InputPath": "$.detail"}])
    with pytest.raises(signed.exceptions.LimitExceededException):
        signed.put_targets(Rule="r1", EventBusName=bus, Targets=[{"Id": "c", "Arn": topic}])

    with pytest.raises(ClientError) as exc:  # over BUSBAR_MAX_REQUEST_BYTES, before any parsing
        signed.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": json.dumps({"x": "y" * 310_000})}])
    assert exc.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
