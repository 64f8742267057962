"""Targets of schedules that the delivery service serves, end to end: a real worker on a fast
clock (60x), boto3's `events` and `scheduler` clients, a real HTTP server on 127.0.0.1, and
"other clusters" named in BUSBAR_CLUSTERS: the test broker under another name, and a port where
no broker listens (a cluster that is down).

A firing never calls an endpoint or another cluster itself: it writes a delivery job in its
transaction, and the delivery service delivers it with the target's RetryPolicy and
dead-letters it to its DeadLetterConfig. What is judged here is what the endpoint, the target
topic and the dead-letter topic receive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from botocore.client import BaseClient
from botocore.credentials import Credentials

from streams.busbar_client import BusbarClient
from tests.http_endpoint import Answer, Endpoint
from tests.support import DELIVERY_ENV, WorkerProcess, free_port, running, unique
from tests.test_api_scheduler import ROLE, scheduler_client
from tests.test_api_support import REGION, client_for, read_topic
from tests.test_delivery_http import dead_letters
from tests.test_router_support import ACCOUNT, create_topics, read_all, topic_arn
from tests.test_scheduler_firing import SPEED, clock_setting

pytestmark = pytest.mark.kafka


class FastClock:
    """The worker's virtual clock as the test sees it."""

    def __init__(self, virtual_start: datetime, real_start: float) -> None:
        self.virtual_start, self.real_start = virtual_start, real_start

    def now(self) -> datetime:
        return self.virtual_start + timedelta(seconds=(time.time() - self.real_start) * SPEED)

    def soon(self, minutes: int = 2) -> datetime:
        """A whole minute at least `minutes` virtual minutes away."""
        return (self.now() + timedelta(minutes=minutes + 1)).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[tuple[WorkerProcess, FastClock]]:
    virtual_start = datetime(2030, 6, 1, tzinfo=UTC)
    clock, real_start = clock_setting(virtual_start)
    env = {**DELIVERY_ENV, "BUSBAR_SCHEDULE_CLOCK": clock, "BUSBAR_DELIVERY_TIMEOUT_S": "2",
           "BUSBAR_CLUSTERS": f"mirror={kafka_bootstrap};down=127.0.0.1:{free_port()}"}
    with running(WorkerProcess(kafka_bootstrap, extra_env=env), worker_logs) as process:
        yield process, FastClock(virtual_start, real_start)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as server:
        yield server


def api_destination(events: BaseClient, url: str) -> str:
    name = unique("dest")
    connection = events.create_connection(
        Name=name, AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})["ConnectionArn"]
    return events.create_api_destination(Name=name, ConnectionArn=connection, InvocationEndpoint=url,
                                         HttpMethod="POST")["ApiDestinationArn"]


def at(moment: datetime) -> str:
    return f"at({moment.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_a_schedule_calls_an_api_destination_with_its_input(worker: tuple[WorkerProcess, FastClock],
                                                             endpoint: Endpoint) -> None:
    process, clock = worker
    destination = api_destination(client_for(process.url), f"{endpoint.url}/nightly")
    moment = clock.soon()
    scheduler_client(process.url).create_schedule(
        Name=unique("http"), ScheduleExpression=at(moment), FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": destination, "RoleArn": ROLE,
                "Input": '{"job": "backup", "at": "<aws.scheduler.scheduled-time>"}'})
    [request] = endpoint.wait_for(1, "/nightly")
    assert request.json() == {"job": "backup", "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert request.headers["x-api-key"] == "k"


def test_a_scheduled_rule_calls_an_api_destination_with_the_scheduled_event(
        worker: tuple[WorkerProcess, FastClock], endpoint: Endpoint) -> None:
    process, _ = worker
    events = client_for(process.url)
    destination = api_destination(events, f"{endpoint.url}/tick")
    rule = unique("tick")
    events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule=rule, Targets=[{"Id": "http", "Arn": destination}])
    try:
        received = endpoint.wait_for(2, "/tick")
    finally:
        events.remove_targets(Rule=rule, Ids=["http"])
        events.delete_rule(Name=rule)
    first, second = (request.json() for request in received[:2])
    assert first["source"] == "aws.events" and first["detail-type"] == "Scheduled Event"
    assert first["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"]
    times = [datetime.fromisoformat(event["time"].replace("Z", "+00:00")) for event in (first, second)]
    assert times[1] - times[0] == timedelta(minutes=1)


def test_a_failing_endpoint_is_retried_by_the_schedules_policy_then_dead_lettered(
        kafka_bootstrap: str, worker: tuple[WorkerProcess, FastClock], endpoint: Endpoint) -> None:
    process, clock = worker
    endpoint.script = lambda request: Answer(status=503)
    destination = api_destination(client_for(process.url), f"{endpoint.url}/down")
    dead = unique("dead")
    create_topics(kafka_bootstrap, f"sqs.{dead}")
    name = unique("down")
    scheduler_client(process.url).create_schedule(
        Name=name, ScheduleExpression=at(clock.soon()), FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": destination, "RoleArn": ROLE, "Input": '{"job": "report"}',
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead}"}})
    [letter] = dead_letters(kafka_bootstrap, f"sqs.{dead}", 1)
    assert len(endpoint.received("/down")) == 3  # the first attempt and MaximumRetryAttempts retries
    assert orjson.loads(letter.value()) == {"job": "report"}
    headers = dict(letter.headers())
    assert headers["busbar-attempt"] == b"3"
    assert headers["busbar-status"] == b"503"
    assert orjson.loads(headers["busbar-delivery"])["schedule"] == \
        f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}"


def test_a_schedule_fires_to_a_topic_of_another_cluster_through_the_delivery_service(
        kafka_bootstrap: str, worker: tuple[WorkerProcess, FastClock]) -> None:
    process, clock = worker
    topic = unique("mirrored")
    create_topics(kafka_bootstrap, topic)
    moment = clock.soon()
    scheduler_client(process.url).create_schedule(
        Name=unique("far"), ScheduleExpression=at(moment), FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": topic_arn(topic, "mirror"), "RoleArn": ROLE, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'})
    deadline = time.monotonic() + 30
    while not (records := read_all(kafka_bootstrap, topic)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [orjson.loads(record.value()) for record in records] == [{"at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}]


def test_a_cluster_that_is_down_is_retried_by_the_schedules_policy_then_dead_lettered(
        kafka_bootstrap: str, worker: tuple[WorkerProcess, FastClock]) -> None:
    process, clock = worker
    dead = unique("dead")
    create_topics(kafka_bootstrap, f"sqs.{dead}")
    name = unique("down")
    scheduler_client(process.url).create_schedule(
        Name=name, ScheduleExpression=at(clock.soon()), FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": topic_arn("jobs", "down"), "RoleArn": ROLE, "Input": '{"job": "sync"}',
                "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 3600},
                "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{dead}"}})
    [letter] = dead_letters(kafka_bootstrap, f"sqs.{dead}", 1)
    assert letter.value() == b'{"job": "sync"}'
    headers = dict(letter.headers())
    assert headers["busbar-attempt"] == b"2"  # the first attempt and MaximumRetryAttempts retries
    assert b"MaximumRetryAttempts spent" in headers["busbar-error"]
    assert headers["busbar-schedule"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{name}".encode()


def test_a_schedule_invokes_a_function_with_its_input(kafka_bootstrap: str,
                                                      worker: tuple[WorkerProcess, FastClock]) -> None:
    process, clock = worker
    name, reports = unique("fn"), f"{process.topics.prefix}.{unique('reports')}"
    create_topics(kafka_bootstrap, reports)
    BusbarClient(process.url, REGION, Credentials("test", "test")).put_function(
        {"FunctionName": name, "Handler": "tests.function_handlers:echo",
         "Environment": {"Variables": {"OUT_TOPIC": reports}}})
    moment = clock.soon()
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    scheduler_client(process.url).create_schedule(
        Name=unique("fn"), ScheduleExpression=at(moment), FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"job": "report", "at": "<aws.scheduler.scheduled-time>"}'})
    [report] = read_topic(kafka_bootstrap, reports, lambda records: len(records) >= 1, 60)
    assert report["event"] == {"job": "report", "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert report["context"]["function_name"] == name and report["context"]["invoked_function_arn"] == arn
