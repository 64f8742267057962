"""HTTP delivery end to end: boto3 sets up a connection, an API destination and a rule, events go
through the API, and a real aiohttp server on 127.0.0.1 sees what arrives."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import orjson
import pytest
from botocore.client import BaseClient
from confluent_kafka import KafkaException, Message

from streams.delivery.breaker import FAILURES
from tests.http_endpoint import Answer, Endpoint, Received
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for
from tests.test_router_support import headers, read_all
from tests.test_router_support import put as put_records

pytestmark = pytest.mark.kafka



@pytest.fixture(scope="module")
def events(delivery_worker: WorkerProcess) -> BaseClient:
    return client_for(delivery_worker.url)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with Endpoint() as server:
        yield server


def route_to(events: BaseClient, endpoint_url: str, auth_type: str, auth: dict, *, target: dict | None = None,
             method: str = "POST", rate: int = 300) -> tuple[str, str]:
    """A connection, an API destination on `endpoint_url` and a rule sending source `name` there;
    returns (name, API destination ARN)."""
    name = unique("h")
    conn = events.create_connection(Name=name, AuthorizationType=auth_type,
                                    AuthParameters=auth)["ConnectionArn"]
    arn = events.create_api_destination(Name=name, ConnectionArn=conn, InvocationEndpoint=endpoint_url,
                                        HttpMethod=method,
                                        InvocationRateLimitPerSecond=rate)["ApiDestinationArn"]
    events.put_rule(Name=name, EventPattern=orjson.dumps({"source": [name]}).decode())
    answer = events.put_targets(Rule=name, Targets=[{"Id": "http", "Arn": arn, **(target or {})}])
    assert answer["FailedEntryCount"] == 0
    return name, arn


def put(events: BaseClient, source: str, n: int = 1, detail: dict | None = None) -> list[str]:
    ids: list[str] = []
    for start in range(0, n, 10):
        entries = [{"Source": source, "DetailType": "t", "Detail": orjson.dumps(detail or {"n": i}).decode()}
                   for i in range(start, min(n, start + 10))]
        answer = events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0
        ids += [entry["EventId"] for entry in answer["Entries"]]
    return ids


def dead_letters(bootstrap: str, topic: str, count: int, timeout: float = 60.0) -> list[Message]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            records = read_all(bootstrap, topic)
        except KafkaException:
            records = []  # the topic is created with its first dead letter
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "key-123"}}


def test_api_key_connection_and_all_parameters_arrive(events: BaseClient, endpoint: Endpoint) -> None:
    auth = {**API_KEY, "InvocationHttpParameters": {
        "HeaderParameters": [{"Key": "x-conn", "Value": "c1", "IsValueSecret": True},
                             {"Key": "x-both", "Value": "from-connection", "IsValueSecret": False}],
        "QueryStringParameters": [{"Key": "cq", "Value": "cv", "IsValueSecret": False}],
        "BodyParameters": [{"Key": "added", "Value": "yes", "IsValueSecret": False}]}}
    target = {"HttpParameters": {"PathParameterValues": ["$.detail.order", "a b"],  # $.: from the event
                                 "HeaderParameters": {"x-target": "t1", "x-both": "from-target",
                                                      "x-source": "$.source", "x-none": "$.detail.absent"},
                                 "QueryStringParameters": {"tq": "tv"}},
              "InputPath": "$.detail"}
    name, _ = route_to(events, endpoint.url + "/orders/*/items/*", "API_KEY", auth, target=target)
    put(events, name, detail={"order": 7})
    (request,) = endpoint.wait_for(1)
    assert (request.method, request.path) == ("POST", "/orders/7/items/a b")
    assert (request.headers["x-source"], request.headers["x-none"]) == (name, "")
    assert request.headers["x-api-key"] == "key-123"
    assert request.headers["Content-Type"] == "application/json"
    assert (request.headers["x-conn"], request.headers["x-target"]) == ("c1", "t1")
    assert request.headers["x-both"] == "from-connection"  # the connection's value wins, as on AWS
    assert request.query == {"cq": "cv", "tq": "tv"}
    assert request.json() == {"order": 7, "added": "yes"}


def test_basic_auth_arrives(events: BaseClient, endpoint: Endpoint) -> None:
    name, _ = route_to(events, endpoint.url + "/hook", "BASIC",
                       {"BasicAuthParameters": {"Username": "ann", "Password": "p@ss"}}, method="PUT")
    (event_id,) = put(events, name)
    (request,) = endpoint.wait_for(1)
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Basic YW5uOnBAc3M="
    assert request.json()["id"] == event_id  # no input shaping: the whole event


def test_oauth_token_fetched_cached_and_refreshed_on_401(events: BaseClient, endpoint: Endpoint) -> None:
    issued: list[str] = []
    revoked: set[str] = set()

    def script(request: Received) -> Answer:
        if request.path == "/token":
            issued.append(f"tok-{len(issued) + 1}")
            return Answer(body=orjson.dumps({"access_token": issued[-1], "expires_in": 3600}))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return Answer(status=401) if token in revoked or token not in issued else Answer()

    endpoint.script = script
    oauth = {"OAuthParameters": {
        "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
        "AuthorizationEndpoint": endpoint.url + "/token", "HttpMethod": "POST",
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "events",
                                                    "IsValueSecret": False}]}}}
    name, _ = route_to(events, endpoint.url + "/in", "OAUTH_CLIENT_CREDENTIALS", oauth)
    deadline = time.monotonic() + 30
    while events.describe_connection(Name=name)["ConnectionState"] != "AUTHORIZED":
        assert time.monotonic() < deadline, "the OAuth connection was never authorized"
        time.sleep(0.2)

    put(events, name, 2)
    endpoint.wait_for(2, "/in")
    (fetch, *_) = endpoint.received("/token")
    assert fetch.headers["Authorization"] == "Basic Y2lkOmNzZWNyZXQ="
    assert b"grant_type=client_credentials" in fetch.body and b"scope=events" in fetch.body
    assert len(endpoint.received("/token")) == 1  # cached: both deliveries used the first token

    revoked.add(issued[-1])
    put(events, name)
    endpoint.wait_for(4, "/in")  # one refused with the old token, then the same event with a new one
    ins = endpoint.received("/in")
    assert [r.headers["Authorization"] for r in ins[2:]] == ["Bearer tok-1", "Bearer tok-2"]
    assert ins[2].body == ins[3].body
    assert len(endpoint.received("/token")) == 2


def test_server_errors_are_retried_until_success(events: BaseClient, endpoint: Endpoint) -> None:
    def script(request: Received) -> Answer:
        count = len(endpoint.received())
        if count == 1:
            return Answer(status=503)
        if count == 2:
            return Answer(status=429, headers={"Retry-After": "1"})
        return Answer()

    endpoint.script = script
    name, _ = route_to(events, endpoint.url + "/r", "API_KEY", API_KEY)
    (event_id,) = put(events, name)
    requests = endpoint.wait_for(3, timeout=60)
    assert [r.json()["id"] for r in requests] == [event_id] * 3
    time.sleep(3)
    assert len(endpoint.received()) == 3  # delivered on the third attempt, and only once


def test_client_errors_are_not_retried_and_dead_letter_with_the_reason(
        events: BaseClient, endpoint: Endpoint, delivery_worker: WorkerProcess) -> None:
    endpoint.script = lambda request: Answer(status=400, body=b"order field missing " + b"x" * 1000)
    queue = unique("dlq")
    name, arn = route_to(events, endpoint.url + "/bad", "API_KEY", API_KEY,
                         target={"DeadLetterConfig": {"Arn": f"arn:aws:sqs:us-east-1:000000000000:{queue}"}})
    (event_id,) = put(events, name)
    (letter,) = dead_letters(delivery_worker.bootstrap, f"sqs.{queue}", 1)
    assert orjson.loads(letter.value())["id"] == event_id
    found = headers(letter)
    assert (found["busbar-rule"], found["busbar-target"], found["busbar-target-id"]) == (name, arn, "http")
    assert found["busbar-attempt"] == "1" and found["busbar-status"] == "400"
    assert found["busbar-error"].startswith("HTTP 400: order field missing xxx")
    assert len(found["busbar-error"]) < 300
    assert found["busbar-first-attempt"] == found["busbar-last-attempt"]
    assert "key-123" not in str(letter.headers())
    assert "key-123" not in delivery_worker.log_tail(100_000)  # nor in the worker's log
    assert "given up after 1 attempt(s): HTTP 400" in delivery_worker.log_tail(100_000)
    time.sleep(2)
    assert len(endpoint.received()) == 1


def test_retry_attempts_are_bounded_by_the_policy(events: BaseClient, endpoint: Endpoint,
                                                  delivery_worker: WorkerProcess) -> None:
    endpoint.script = lambda request: Answer(status=500, body=b"down")
    name, _ = route_to(events, endpoint.url + "/down", "API_KEY", API_KEY,
                       target={"RetryPolicy": {"MaximumRetryAttempts": 2}})
    bus_dlq = delivery_worker.topics.dlq("default")
    put(events, name)
    endpoint.wait_for(3, timeout=60)
    deadline = time.monotonic() + 30
    mine: list[Message] = []
    while not mine and time.monotonic() < deadline:
        letters = dead_letters(delivery_worker.bootstrap, bus_dlq, 1, 5)
        mine = [m for m in letters if headers(m).get("busbar-rule") == name]
    (letter,) = mine
    assert headers(letter)["busbar-attempt"] == "3"
    assert "MaximumRetryAttempts" in headers(letter)["busbar-error"]
    assert len(endpoint.received()) == 3


def test_metrics_count_deliveries(events: BaseClient, endpoint: Endpoint,
                                  delivery_worker: WorkerProcess) -> None:
    name, _ = route_to(events, endpoint.url + "/m", "API_KEY", API_KEY)
    put(events, name, 3)
    endpoint.wait_for(3)
    time.sleep(0.5)
    text = urllib.request.urlopen(f"{delivery_worker.url}/metrics", timeout=10).read().decode()
    assert f'busbar_delivery_requests_total{{destination="{name}",outcome="ok"}} 3.0' in text
    assert f'busbar_delivery_endpoint_seconds_count{{destination="{name}"}} 3.0' in text


def metric(worker: WorkerProcess, series: str) -> float:
    """The worker's value of `series` (`name{labels}`), or the sum over all its labels (`name`)."""
    text = urllib.request.urlopen(f"{worker.url}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(series + " ") or ("{" not in series and line.startswith(series + "{")))


def test_a_failing_destinations_breaker_opens_then_closes_when_it_recovers(
        events: BaseClient, endpoint: Endpoint, delivery_worker: WorkerProcess) -> None:
    """While the endpoint fails, its parked deliveries are not tried (the breaker is open): only a
    probe now and then reaches it. Once it recovers, a probe closes the breaker and every event
    arrives."""
    failing = True
    delivered: set[str] = set()

    def script(request: Received) -> Answer:
        if failing:
            return Answer(status=503, body=b"down for maintenance")
        delivered.add(request.json()["id"])
        return Answer()

    endpoint.script = script
    name, _ = route_to(events, endpoint.url + "/flaky", "API_KEY", API_KEY)
    ids = put(events, name, 40)
    endpoint.wait_for(FAILURES, timeout=60)  # that many failures in a row open the breaker
    time.sleep(6)  # without one: each event's first attempt and its retries at ~1, ~2 and ~4 s, 160 or so
    requests = len(endpoint.received())
    # what was in flight when it opened (a lane sends 32 at a time), and a probe now and then
    assert requests <= 48, f"{requests} requests reached the failing endpoint (40 events) in 6 s"
    series = f'{{destination="{name}"}}'
    assert metric(delivery_worker, "busbar_delivery_circuit_open" + series) == 1.0
    assert metric(delivery_worker, "busbar_delivery_circuit_opened_total" + series) >= 2  # a probe failed
    assert metric(delivery_worker, "busbar_delivery_circuit_held_total" + series) >= 20

    failing = False
    deadline = time.monotonic() + 60
    while delivered != set(ids):
        assert time.monotonic() < deadline, f"{len(delivered)} of 40 delivered after the endpoint recovered"
        time.sleep(0.2)
    assert metric(delivery_worker, "busbar_delivery_circuit_open" + series) == 0.0


def test_refused_credentials_deauthorize_the_connection(events: BaseClient, endpoint: Endpoint,
                                                        delivery_worker: WorkerProcess) -> None:
    endpoint.script = lambda request: Answer(status=401, body=b"bad key")
    name, _ = route_to(events, endpoint.url + "/auth", "API_KEY", API_KEY)
    put(events, name)
    deadline = time.monotonic() + 30
    while (described := events.describe_connection(Name=name))["ConnectionState"] != "DEAUTHORIZED":
        assert time.monotonic() < deadline, "a 401 did not deauthorize the connection"
        time.sleep(0.2)
    assert described["StateReason"] == "HTTP 401: bad key"
    put(events, name)  # no request is made with refused credentials: straight to the dead-letter queue
    letters = dead_letters(delivery_worker.bootstrap, delivery_worker.topics.dlq("default"), 1)
    deadline = time.monotonic() + 30
    while not any(headers(m).get("busbar-rule") == name and "DEAUTHORIZED" in headers(m)["busbar-error"]
                  for m in letters):
        assert time.monotonic() < deadline, "the second event was not dead-lettered"
        time.sleep(0.5)
        letters = dead_letters(delivery_worker.bootstrap, delivery_worker.topics.dlq("default"), 1)
    assert len(endpoint.received("/auth")) == 1


def test_a_job_that_fails_unexpectedly_is_retried_then_dead_lettered_with_the_reason(
        delivery_worker: WorkerProcess) -> None:
    """Jobs written by hand to the deliveries topic, as any Kafka producer may: one whose Kafka
    headers are a number, not a list (the deliverer raises where nothing expects it), and one
    whose RetryPolicy cannot be read. Neither may be skipped without a record of why."""
    bus = unique("unexpected")
    target = {"Id": "t", "Arn": f"arn:aws:kafka:us-east-1:000000000000:topic/local/{unique('never')}",
              "RetryPolicy": {"MaximumRetryAttempts": 1}}
    bad_headers = {"bus": bus, "rule": "bad-headers", "target": target, "payload": '{"id":"k1"}', "headers": 7}
    bad_policy = {"bus": bus, "rule": "bad-policy", "target": {**target, "RetryPolicy": {"MaximumRetryAttempts": "x"}},
                  "payload": '{"id":"p1"}'}
    put_records(delivery_worker.bootstrap, delivery_worker.topics.deliveries, [bad_headers, bad_policy])
    letters = dead_letters(delivery_worker.bootstrap, delivery_worker.topics.dlq(bus), 2)
    found = {orjson.loads(m.value()).get("rule", orjson.loads(m.value()).get("id")): headers(m) for m in letters}
    assert set(found) == {"k1", "bad-policy"}
    retried = found["k1"]  # the payload, after its one retry also failed
    assert retried["busbar-attempt"] == "2" and retried["busbar-rule"] == "bad-headers"
    assert retried["busbar-error"].startswith("failed unexpectedly: TypeError(")
    assert retried["busbar-error"].endswith("(MaximumRetryAttempts spent)")
    refused = found["bad-policy"]  # the record as it came: no job could be made of it
    assert "RetryPolicy.MaximumRetryAttempts is 'x'" in refused["busbar-error"]
