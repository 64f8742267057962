"""Connections and API destinations through stock boto3: shapes, states, secrets never answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from confluent_kafka import Consumer
from cryptography.fernet import Fernet

from tests.support import WorkerProcess, running, unique
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka

KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    """A worker with a secret key (the shared one has none, so it stands for an unkeyed deployment)."""
    keyed = WorkerProcess(kafka_bootstrap, extra_env={"BUSBAR_SECRET_KEY": KEY})
    with running(keyed, worker_logs) as process:
        yield process


@pytest.fixture(scope="module")
def events(worker: WorkerProcess) -> BaseClient:
    return client_for(worker.url)


def api_key_connection(events: BaseClient, name: str, value: str = "s3cr3t-value") -> dict:
    return events.create_connection(
        Name=name, AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": value},
                        "InvocationHttpParameters": {"HeaderParameters": [
                            {"Key": "x-team", "Value": "blue", "IsValueSecret": False},
                            {"Key": "x-token", "Value": "hidden-token", "IsValueSecret": True}]}})


def test_api_key_connection_lifecycle_never_answers_secrets(events: BaseClient,
                                                             worker: WorkerProcess) -> None:
    name = unique("conn")
    created = api_key_connection(events, name)
    assert created["ConnectionState"] == "AUTHORIZED"
    assert created["ConnectionArn"].startswith(f"arn:aws:events:us-east-1:000000000000:connection/{name}/")

    described = events.describe_connection(Name=name)
    assert described["ConnectionArn"] == created["ConnectionArn"]
    assert described["AuthorizationType"] == "API_KEY"
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    headers = described["AuthParameters"]["InvocationHttpParameters"]["HeaderParameters"]
    assert headers == [{"Key": "x-team", "Value": "blue", "IsValueSecret": False},
                       {"Key": "x-token", "IsValueSecret": True}]
    assert "s3cr3t-value" not in str(described) and "hidden-token" not in str(described)

    # Nor is a secret readable in the config topic, where every record lands.
    consumer = Consumer({"bootstrap.servers": worker.bootstrap, "group.id": unique("g"),
                         "auto.offset.reset": "earliest", "log_level": 0})
    consumer.subscribe([worker.topics.config])
    raw = b""
    for _ in range(40):
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error() and msg.key() == f"connection/{name}".encode():
            raw = msg.value()
            break
    consumer.close()
    assert raw and b"s3cr3t-value" not in raw and b"hidden-token" not in raw and b"x-api-key" in raw

    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [c["Name"] for c in listed] == [name] and listed[0]["ConnectionState"] == "AUTHORIZED"

    deauthorized = events.deauthorize_connection(Name=name)
    assert deauthorized["ConnectionState"] == "DEAUTHORIZING"
    assert events.describe_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
    assert [c["Name"] for c in events.list_connections(ConnectionState="DEAUTHORIZED")["Connections"]
            if c["Name"] == name] == [name]
    with pytest.raises(ClientError, match="ApiKeyValue"):  # the secret is gone: an update must give it again
        events.update_connection(Name=name, AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k"}})
    updated = events.update_connection(Name=name,
                                       AuthParameters={"ApiKeyAuthParameters": {"ApiKeyValue": "new"}})
    assert updated["ConnectionState"] == "AUTHORIZED"

    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_connection(Name=name)


def test_basic_and_oauth_connections(events: BaseClient) -> None:
    basic = unique("basic")
    events.create_connection(Name=basic, AuthorizationType="BASIC",
                             AuthParameters={"BasicAuthParameters": {"Username": "ann", "Password": "pw"}})
    shown = events.describe_connection(Name=basic)["AuthParameters"]
    assert shown == {"BasicAuthParameters": {"Username": "ann"}}
    oauth = unique("oauth")
    kind = "OAUTH_CLIENT_CREDENTIALS"
    created = events.create_connection(Name=oauth, AuthorizationType=kind, AuthParameters={
        "OAuthParameters": {"ClientParameters": {"ClientID": "id1", "ClientSecret": "cs"},
                            "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST"}})
    assert created["ConnectionState"] == "AUTHORIZING"
    shown = events.describe_connection(Name=oauth)["AuthParameters"]["OAuthParameters"]
    assert shown == {"ClientParameters": {"ClientID": "id1"}, "HttpMethod": "POST",
                     "AuthorizationEndpoint": "https://auth.example.com/token"}


def test_connection_refusals(events: BaseClient) -> None:
    name = unique("conn")
    api_key_connection(events, name)
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException):
        api_key_connection(events, name)
    with pytest.raises(ClientError, match="BasicAuthParameters") as exc:
        events.create_connection(Name=unique("c"), AuthorizationType="BASIC",
                                 AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a",
                                                                          "ApiKeyValue": "b"}})
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.deauthorize_connection(Name=unique("missing"))


def test_api_destination_lifecycle(events: BaseClient) -> None:
    conn = api_key_connection(events, unique("conn"))["ConnectionArn"]
    name = unique("dest")
    created = events.create_api_destination(Name=name, ConnectionArn=conn, HttpMethod="POST",
                                            InvocationEndpoint="https://api.example.com/orders/*")
    assert created["ApiDestinationState"] == "ACTIVE"
    arn = created["ApiDestinationArn"]
    assert arn.startswith(f"arn:aws:events:us-east-1:000000000000:api-destination/{name}/")
    described = events.describe_api_destination(Name=name)
    shown = (described["ConnectionArn"], described["InvocationRateLimitPerSecond"], described["HttpMethod"])
    assert shown == (conn, 300, "POST")
    events.update_api_destination(Name=name, InvocationRateLimitPerSecond=20, HttpMethod="PUT")
    described = events.describe_api_destination(Name=name)
    assert (described["InvocationRateLimitPerSecond"], described["HttpMethod"]) == (20, "PUT")
    assert [d["Name"] for d in events.list_api_destinations(ConnectionArn=conn)["ApiDestinations"]] == [name]

    events.put_rule(Name=name, EventPattern='{"source": ["shop"]}')
    answer = events.put_targets(Rule=name, Targets=[{"Id": "http", "Arn": arn,
                                                     "HttpParameters": {"PathParameterValues": ["v"]}}])
    assert answer["FailedEntryCount"] == 0
    with pytest.raises(ClientError, match="HttpParameters.HeaderParameters.h") as exc:
        bad = {"Id": "bad", "Arn": arn, "HttpParameters": {"HeaderParameters": {"h": "$.detail..x"}}}
        events.put_targets(Rule=name, Targets=[bad])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    connection = conn.split("/")[1]
    with pytest.raises(ClientError, match=f"used by API destination\\(s\\) {name};") as refused:
        events.delete_connection(Name=connection)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert events.describe_connection(Name=connection)["ConnectionState"] == "AUTHORIZED"
    events.delete_api_destination(Name=name)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_api_destination(Name=name)
    assert events.delete_connection(Name=connection)["ConnectionState"] == "DELETING"


@pytest.mark.parametrize("endpoint, reason", [
    ("http://api.example.com/x", "plain http"),
    ("https://127.0.0.1/x", "loopback, private or link-local"),
    ("https://10.1.2.3/x", "loopback, private or link-local"),
    ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
])
def test_api_destination_refuses_private_and_metadata_endpoints(events: BaseClient, endpoint: str,
                                                                reason: str) -> None:
    conn = api_key_connection(events, unique("conn"))["ConnectionArn"]
    with pytest.raises(ClientError, match=reason) as exc:
        events.create_api_destination(Name=unique("d"), ConnectionArn=conn, HttpMethod="POST",
                                      InvocationEndpoint=endpoint)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_api_destination_needs_its_connection(events: BaseClient) -> None:
    missing = "arn:aws:events:us-east-1:000000000000:connection/nope/0000-1111"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.create_api_destination(Name=unique("d"), ConnectionArn=missing, HttpMethod="POST",
                                      InvocationEndpoint="https://api.example.com/")


def test_without_a_secret_key_connections_are_refused_with_the_fix(busbar_worker: WorkerProcess) -> None:
    with pytest.raises(ClientError, match="BUSBAR_SECRET_KEY") as exc:
        api_key_connection(client_for(busbar_worker.url), unique("conn"))
    assert exc.value.response["Error"]["Code"] == "ValidationException"
