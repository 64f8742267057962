"""Archives through stock boto3 against a running worker: the five operations, AWS's errors,
the archive topic's retention, and what the router keeps in an archive."""

from __future__ import annotations

import json

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from tests.support import WorkerProcess, unique
from tests.test_api_rules import error_code as code
from tests.test_api_support import client_for
from tests.test_router_support import read_all, wait_routed

pytestmark = pytest.mark.kafka

ACCOUNT_ARN = "arn:aws:events:us-east-1:000000000000"


@pytest.fixture(scope="module")
def events(busbar_worker: WorkerProcess) -> BaseClient:
    return client_for(busbar_worker.url)


@pytest.fixture
def bus(events: BaseClient) -> str:
    name = unique("arch")
    events.create_event_bus(Name=name)
    return name


def retention_ms(bootstrap: str, topic: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    (config,) = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)]).values()
    return config.result()["retention.ms"].value


def put(events: BaseClient, bus: str, sources: list[str]) -> None:
    entries = [{"EventBusName": bus, "Source": source, "DetailType": "t", "Detail": json.dumps({"n": i})}
               for i, source in enumerate(sources)]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0


def test_create_describe_update_list_delete(events: BaseClient, bus: str, busbar_worker: WorkerProcess) -> None:
    name = unique("a")
    created = events.create_archive(ArchiveName=name, EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{bus}",
                                    Description="all orders", RetentionDays=7)
    assert created["ArchiveArn"] == f"{ACCOUNT_ARN}:archive/{name}"
    assert created["State"] == "ENABLED"
    topic = busbar_worker.topics.archive(name)
    assert retention_ms(busbar_worker.bootstrap, topic) == str(7 * 86_400_000)

    archive = events.describe_archive(ArchiveName=name)
    assert (archive["ArchiveName"], archive["EventSourceArn"], archive["Description"], archive["RetentionDays"],
            archive["State"], archive["EventCount"], archive["SizeBytes"]) == (
        name, f"{ACCOUNT_ARN}:event-bus/{bus}", "all orders", 7, "ENABLED", 0, 0)
    assert archive["CreationTime"] == created["CreationTime"]
    assert "EventPattern" not in archive

    pattern = json.dumps({"source": ["shop"]})
    updated = events.update_archive(ArchiveName=name, EventPattern=pattern, RetentionDays=0)
    assert (updated["State"], updated["CreationTime"]) == ("ENABLED", created["CreationTime"])  # as AWS answers
    archive = events.describe_archive(ArchiveName=name)
    assert (archive["EventPattern"], archive["RetentionDays"], archive["Description"]) == (pattern, 0, "all orders")
    assert retention_ms(busbar_worker.bootstrap, topic) == "-1"  # 0 days: kept forever

    other = unique("b")
    events.create_archive(ArchiveName=other, EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{bus}")
    by_bus = events.list_archives(EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{bus}")["Archives"]
    assert sorted(a["ArchiveName"] for a in by_bus) == sorted([name, other])
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix=name)["Archives"]] == [name]
    assert {"ArchiveName", "EventSourceArn", "State", "RetentionDays", "EventCount", "SizeBytes",
            "CreationTime"} <= set(by_bus[0])
    assert "Description" not in by_bus[0]
    assert name in [a["ArchiveName"] for a in events.list_archives(State="ENABLED")["Archives"]]
    assert events.list_archives(State="DISABLED")["Archives"] == []  # no operation disables one, on AWS either

    events.delete_archive(ArchiveName=name)
    with pytest.raises(ClientError) as missing:
        events.describe_archive(ArchiveName=name)
    assert code(missing) == "ResourceNotFoundException"
    assert [a["ArchiveName"] for a in events.list_archives(
        EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{bus}")["Archives"]] == [other]


def test_errors_as_aws_answers_them(events: BaseClient, bus: str) -> None:
    source = f"{ACCOUNT_ARN}:event-bus/{bus}"
    name = unique("e")
    events.create_archive(ArchiveName=name, EventSourceArn=source)
    cases = [
        (lambda: events.create_archive(ArchiveName=name, EventSourceArn=source), "ResourceAlreadyExistsException"),
        (lambda: events.create_archive(ArchiveName=unique("e"), EventSourceArn=f"{ACCOUNT_ARN}:event-bus/nope"),
         "ResourceNotFoundException"),
        (lambda: events.create_archive(ArchiveName=unique("e"), EventSourceArn=source, EventPattern='{"source": 1}'),
         "InvalidEventPatternException"),
        (lambda: events.update_archive(ArchiveName=name, EventPattern="not json"), "InvalidEventPatternException"),
        (lambda: events.update_archive(ArchiveName=unique("none")), "ResourceNotFoundException"),
        (lambda: events.describe_archive(ArchiveName=unique("none")), "ResourceNotFoundException"),
        (lambda: events.delete_archive(ArchiveName=unique("none")), "ResourceNotFoundException"),
        (lambda: events.list_archives(NamePrefix="a", State="ENABLED"), "ValidationException"),
        (lambda: events.list_archives(EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{unique('nope')}"),
         "ResourceNotFoundException"),
        (lambda: events.create_archive(ArchiveName="bad name", EventSourceArn=source), "ValidationException"),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as refused:
            call()
        assert code(refused) == expected


def test_the_router_archives_what_the_pattern_matches_and_describe_counts_it(
        events: BaseClient, bus: str, busbar_worker: WorkerProcess) -> None:
    name = unique("k")
    events.create_archive(ArchiveName=name, EventSourceArn=f"{ACCOUNT_ARN}:event-bus/{bus}",
                          EventPattern=json.dumps({"source": ["shop"]}))
    put(events, bus, ["shop", "other", "shop", "shop", "other"])
    wait_routed(busbar_worker.bootstrap, f"{busbar_worker.prefix}-router", busbar_worker.topics.bus(bus))
    archived = read_all(busbar_worker.bootstrap, busbar_worker.topics.archive(name))
    assert sorted(json.loads(m.value())["source"] for m in archived) == ["shop"] * 3
    described = events.describe_archive(ArchiveName=name)
    assert described["EventCount"] == 3
    sizes = [len(m.value()) + len(m.key() or b"") for m in archived]
    assert sum(sizes) <= described["SizeBytes"] <= sum(sizes) + 3 * 200  # the headers are counted too
