"""PutPermission / RemovePermission, Policy in DescribeEventBus, and PutEvents obeying the policy.

A worker with SigV4 credentials runs here: the owner's key, and two keys the credentials file
maps to other accounts, so the bus policy decides which of them may put events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka

OWNER_ACCOUNT = "000000000000"
PARTNER, STRANGER = "111122223333", "444455556666"
KEYS = {"AKIDOWNER": ("owner-secret", None), "AKIDPARTNER": ("partner-secret", PARTNER),
        "AKIDSTRANGER": ("stranger-secret", STRANGER)}


@pytest.fixture(scope="module")
def policy_worker(kafka_bootstrap: str, worker_logs: Path, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[WorkerProcess]:
    path = tmp_path_factory.mktemp("creds") / "credentials"
    sections = []
    for key, (secret, account) in KEYS.items():
        sections.append(f"[{key}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
                        + (f"aws_account_id = {account}\n" if account else ""))
    path.write_text("\n".join(sections))
    worker = WorkerProcess(kafka_bootstrap, extra_env={"BUSBAR_CREDENTIALS_FILE": str(path)}).start(worker_logs)
    try:
        yield worker
    finally:
        worker.stop()


def client(worker: WorkerProcess, key: str) -> BaseClient:
    return client_for(worker.url, key, KEYS[key][0])


@pytest.fixture(scope="module")
def owner(policy_worker: WorkerProcess) -> BaseClient:
    return client(policy_worker, "AKIDOWNER")


@pytest.fixture
def bus(owner: BaseClient) -> str:
    name = unique("perm")
    owner.create_event_bus(Name=name)
    return name


def put(events: BaseClient, bus: str) -> dict[str, Any]:
    entry = {"EventBusName": bus, "Source": "shop", "DetailType": "Order", "Detail": "{}"}
    result: dict[str, Any] = events.put_events(Entries=[entry])["Entries"][0]
    return result


def policy_of(owner: BaseClient, bus: str) -> dict[str, Any] | None:
    text = owner.describe_event_bus(Name=bus).get("Policy")
    return None if text is None else json.loads(text)


def test_put_permission_writes_the_statement_aws_writes(owner: BaseClient, bus: str) -> None:
    assert policy_of(owner, bus) is None
    owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=PARTNER, StatementId="partner")
    owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="org",
                         Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc"})
    arn = f"arn:aws:events:us-east-1:{OWNER_ACCOUNT}:event-bus/{bus}"
    assert policy_of(owner, bus) == {"Version": "2012-10-17", "Statement": [
        {"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
         "Action": "events:PutEvents", "Resource": arn},
        {"Sid": "org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": arn,
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}},
    ]}
    listed = [b for b in owner.list_event_buses(NamePrefix=bus)["EventBuses"] if b["Name"] == bus]
    assert json.loads(listed[0]["Policy"]) == policy_of(owner, bus)


def test_remove_permission(owner: BaseClient, bus: str) -> None:
    for sid in ("a", "b"):
        owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=PARTNER, StatementId=sid)
    with pytest.raises(owner.exceptions.ResourceNotFoundException, match="Statement with the provided id"):
        owner.remove_permission(EventBusName=bus, StatementId="nope")
    owner.remove_permission(EventBusName=bus, StatementId="a")
    assert [s["Sid"] for s in policy_of(owner, bus)["Statement"]] == ["b"]  # type: ignore[index]
    owner.remove_permission(EventBusName=bus, RemoveAllPermissions=True)
    assert policy_of(owner, bus) is None
    with pytest.raises(ClientError) as exc:
        owner.remove_permission(EventBusName=bus)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_put_permission_refusals(owner: BaseClient, bus: str) -> None:
    refused = [
        {"Action": "events:PutRule", "Principal": PARTNER, "StatementId": "x"},
        {"Action": "events:PutEvents", "StatementId": "x"},
        {"Policy": "{not json"},
        {"Policy": json.dumps({"Statement": [{"Effect": "Allow", "NotPrincipal": "*", "Action": "*", "Resource": "*"}]})},
        {"Policy": "{}", "StatementId": "x"},
    ]
    for kwargs in refused:
        with pytest.raises(ClientError) as exc:
            owner.put_permission(EventBusName=bus, **kwargs)
        assert exc.value.response["Error"]["Code"] == "ValidationException", kwargs
    with pytest.raises(owner.exceptions.ResourceNotFoundException):
        owner.put_permission(EventBusName=unique("nobus"), Action="events:PutEvents", Principal=PARTNER,
                             StatementId="x")


def test_put_events_obeys_the_bus_policy(policy_worker: WorkerProcess, owner: BaseClient, bus: str) -> None:
    partner, stranger = client(policy_worker, "AKIDPARTNER"), client(policy_worker, "AKIDSTRANGER")
    assert "EventId" in put(owner, bus)  # the owner needs no statement
    denied = put(partner, bus)
    assert denied["ErrorCode"] == "AccessDeniedException"
    assert PARTNER in denied["ErrorMessage"] and bus in denied["ErrorMessage"]

    owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal=PARTNER, StatementId="partner")
    assert "EventId" in put(partner, bus)
    assert put(stranger, bus)["ErrorCode"] == "AccessDeniedException"
    # A statement whose Condition busbar cannot evaluate (organizations) grants nothing.
    owner.put_permission(EventBusName=bus, Action="events:PutEvents", Principal="*", StatementId="org",
                         Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc"})
    assert put(stranger, bus)["ErrorCode"] == "AccessDeniedException"

    # A whole policy: everyone may put, but a Deny for the partner wins, also over the owner's keys.
    arn = f"arn:aws:events:us-east-1:{OWNER_ACCOUNT}:event-bus/{bus}"
    owner.put_permission(EventBusName=bus, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "events:*", "Resource": arn},
        {"Sid": "no-partner", "Effect": "Deny", "Principal": {"AWS": PARTNER}, "Action": "events:PutEvents",
         "Resource": "arn:aws:events:*:*:event-bus/*"},
    ]}))
    assert "EventId" in put(stranger, bus)
    assert put(partner, bus)["ErrorCode"] == "AccessDeniedException"
    assert "EventId" in put(owner, bus)

    owner.remove_permission(EventBusName=bus, RemoveAllPermissions=True)
    assert put(stranger, bus)["ErrorCode"] == "AccessDeniedException"
    assert "EventId" in put(owner, bus)


def test_unserved_operations_still_answer_unknown_operation(owner: BaseClient) -> None:
    with pytest.raises(ClientError) as exc:
        owner.list_partner_event_sources(NamePrefix="aws.partner")
    assert exc.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "ListPartnerEventSources" in exc.value.response["Error"]["Message"]
