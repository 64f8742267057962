"""`busbar dlq list` and `busbar dlq redrive` against real dead letters on the test broker."""

from __future__ import annotations

import json
import time

import pytest
from botocore.client import BaseClient
from click.testing import CliRunner
from confluent_kafka import Producer

from streams.cli import cli
from tests.http_endpoint import Answer, Endpoint, Received
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for
from tests.test_delivery_http import API_KEY, dead_letters, put, route_to
from tests.test_router_support import create_topics, read_all
from tests.test_router_support import put as put_records

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def events(delivery_worker: WorkerProcess) -> BaseClient:
    return client_for(delivery_worker.url)


def run(worker: WorkerProcess, *args: str) -> tuple[str, str]:
    options = ["--kafka", worker.bootstrap, "--topic-prefix", worker.prefix]
    result = CliRunner().invoke(cli, ["dlq", *args, *options])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_http_dead_letters_listed_then_redriven_by_rule(events: BaseClient,
                                                        delivery_worker: WorkerProcess) -> None:
    refusing = {"on": True}

    def script(request: Received) -> Answer:
        return Answer(status=422, body=b"not yet") if refusing["on"] else Answer()

    with Endpoint(script) as endpoint:
        name, _ = route_to(events, endpoint.url + "/x", "API_KEY", API_KEY)
        other, _ = route_to(events, endpoint.url + "/other", "API_KEY", API_KEY)
        ids = set(put(events, name, 3))
        put(events, other, 2)
        dead_letters(delivery_worker.bootstrap, delivery_worker.topics.dlq("default"), 5)
        time.sleep(1)

        listed, summary = run(delivery_worker, "list", "default", "--rule", name, "--json")
        letters = [json.loads(line) for line in listed.splitlines()]
        assert {letter["value"]["id"] for letter in letters} == ids
        assert all(letter["busbar-error"] == "HTTP 422: not yet" and letter["busbar-attempt"] == "1"
                   for letter in letters)
        assert "x-api-key" not in listed and "key-123" not in listed
        readable, _ = run(delivery_worker, "list", "default", "--rule", name)
        assert readable.count(f"rule {name} target arn:aws:events:") == 3 and "HTTP 422: not yet" in readable
        later, _ = run(delivery_worker, "list", "default", "--rule", name, "--since", "2999-01-01T00:00:00Z")
        assert later == ""

        refusing["on"] = False
        _, progress = run(delivery_worker, "redrive", "default", "--rule", name, "--rate", "20")
        assert "redriven 3 dead letter(s)" in progress
        arrived = endpoint.wait_for(3 + 2 + 3, timeout=60)  # the five refusals, then the three redriven
        assert {r.json()["id"] for r in arrived if r.path == "/x"} == ids
        time.sleep(1)
        assert len(endpoint.received("/other")) == 2  # the other rule's letters stayed put


def test_kafka_target_dead_letters_go_back_to_their_topic(delivery_worker: WorkerProcess) -> None:
    queue, target = unique("q"), unique("t")
    create_topics(delivery_worker.bootstrap, queue, target)
    arn = f"arn:aws:kafka:us-east-1:000000000000:topic/local/{target}"
    put_records(delivery_worker.bootstrap, queue, [{"n": 1}])  # a letter of no target at all: skipped
    producer_headers = [("busbar-rule", b"r1"), ("busbar-target", arn.encode()),
                        ("busbar-error", b"timed out")]
    producer = Producer({"bootstrap.servers": delivery_worker.bootstrap})
    producer.produce(queue, b'{"n": 2}', headers=producer_headers)
    assert producer.flush(10) == 0
    _, progress = run(delivery_worker, "redrive", queue)
    assert "redriven 1 dead letter(s)" in progress and "skipped 1" in progress
    (record,) = read_all(delivery_worker.bootstrap, target)
    assert json.loads(record.value()) == {"n": 2}
    assert dict(record.headers())["busbar-redriven"] == b"1"


def test_a_queue_is_named_as_its_dead_letter_config_names_it(delivery_worker: WorkerProcess) -> None:
    queue = unique("dlq")
    create_topics(delivery_worker.bootstrap, f"sqs.{queue}")
    producer = Producer({"bootstrap.servers": delivery_worker.bootstrap})
    producer.produce(f"sqs.{queue}", b'{"n": 1}', headers=[("busbar-rule", b"r1"), ("busbar-error", b"500")])
    assert producer.flush(10) == 0
    for name in (queue, f"arn:aws:sqs:us-east-1:000000000000:{queue}", f"sqs.{queue}"):
        listed, summary = run(delivery_worker, "list", name)
        assert "rule r1" in listed and "500" in listed, name
        assert f"1 dead letter(s) in sqs.{queue}" in summary, name
    options = ["--kafka", delivery_worker.bootstrap, "--topic-prefix", delivery_worker.prefix]
    missing = CliRunner().invoke(cli, ["dlq", "list", unique("none"), *options])
    assert missing.exit_code != 0 and "no dead-letter queue named" in missing.output
    refused = CliRunner().invoke(cli, ["dlq", "list", "arn:aws:lambda:us-east-1:000000000000:function:f", *options])
    assert refused.exit_code != 0 and "names a function" in refused.output
