"""Event buses through stock boto3: create (with topics), describe, list with paging, delete."""

from __future__ import annotations

import datetime

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from confluent_kafka.admin import AdminClient

from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_create_describe_and_topics(events: BaseClient, busbar_worker: WorkerProcess) -> None:
    name = unique("orders")
    created = events.create_event_bus(Name=name, Description="shop orders", Tags=[{"Key": "team", "Value": "a"}])
    arn = f"arn:aws:events:us-east-1:000000000000:event-bus/{name}"
    assert created["EventBusArn"] == arn
    assert created["Description"] == "shop orders"

    described = events.describe_event_bus(Name=name)
    assert (described["Name"], described["Arn"], described["Description"]) == (name, arn, "shop orders")
    assert isinstance(described["CreationTime"], datetime.datetime)
    assert events.describe_event_bus(Name=arn)["Name"] == name  # an ARN works where a name does
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]

    topics = AdminClient({"bootstrap.servers": busbar_worker.bootstrap}).list_topics(timeout=10).topics
    assert busbar_worker.topics.bus(name) in topics
    assert busbar_worker.topics.dlq(name) in topics


def test_default_bus_exists_and_cannot_be_deleted(events: BaseClient) -> None:
    assert events.describe_event_bus()["Name"] == "default"
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name="default")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name="default")


def test_duplicate_and_missing_buses(events: BaseClient) -> None:
    name = unique("dup")
    events.create_event_bus(Name=name)
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException, match=f"Event bus {name} already exists"):
        events.create_event_bus(Name=name)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(Name=unique("missing"))


def test_invalid_names_are_refused(events: BaseClient) -> None:
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name="has space")
    assert error_code(exc) == "ValidationException"
    assert "at 'name' failed to satisfy constraint" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name="a/b")
    assert error_code(exc) == "ValidationException"


def test_delete(events: BaseClient) -> None:
    name = unique("gone")
    events.create_event_bus(Name=name)
    events.put_rule(Name="r", EventBusName=name, EventPattern='{"source": ["x"]}')
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name=name)
    assert error_code(exc) == "ValidationException"  # its rules must go first
    assert exc.value.response["Error"]["Message"].startswith("EventBus can't be deleted since it has rules")

    events.delete_rule(Name="r", EventBusName=name)
    archive = unique("kept")
    events.create_archive(ArchiveName=archive, EventSourceArn=events.describe_event_bus(Name=name)["Arn"])
    with pytest.raises(ClientError) as exc:
        events.delete_event_bus(Name=name)
    assert error_code(exc) == "ValidationException"  # an archive is a (managed) rule of its bus on AWS
    assert f"archive(s) {archive}" in exc.value.response["Error"]["Message"]
    assert events.describe_event_bus(Name=name)["Name"] == name

    events.delete_archive(ArchiveName=archive)
    events.delete_event_bus(Name=name)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(Name=name)
    events.delete_event_bus(Name=name)  # deleting what is gone succeeds, as on AWS


def test_list_with_prefix_and_paging(events: BaseClient) -> None:
    prefix = unique("page")
    names = sorted(f"{prefix}-{i}" for i in range(5))
    for name in names:
        events.create_event_bus(Name=name)

    seen: list[str] = []
    pages = 0
    token: dict[str, str] = {}
    while True:
        page = events.list_event_buses(NamePrefix=prefix, Limit=2, **token)
        assert len(page["EventBuses"]) <= 2
        seen += [bus["Name"] for bus in page["EventBuses"]]
        pages += 1
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert seen == names
    assert pages == 3
    assert "default" in [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]

    with pytest.raises(ClientError) as exc:
        events.list_event_buses(NextToken="not-a-token")
    assert error_code(exc) == "ValidationException"
