"""`busbar api`: API processes beside a worker whose own API is off, sharing one port.

Two API processes bind the same port (SO_REUSEPORT); each serves boto3's PutEvents on it, alone
and side by side, the worker routes what they put on the bus, and SigV4 and the size limits hold
in them as in a worker.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from streams.arns import kafka_topic_arn
from streams.embedded_kafka import free_port
from streams.topics import ensure_topics
from tests.support import WorkerProcess, health, http_status, running, unique
from tests.test_api_support import client_for, raw_post, read_topic

KEY_ID, SECRET = "AKIDAPIPROC", "api-process-secret"
CREDENTIALS = {"BUSBAR_ACCESS_KEY_ID": KEY_ID, "BUSBAR_SECRET_ACCESS_KEY": SECRET}


def api_process(worker: WorkerProcess, port: int) -> WorkerProcess:
    """`busbar api` with the worker's topics and credentials, on `port`."""
    return WorkerProcess(worker.bootstrap, prefix=worker.prefix, app_id=worker.app_id, port=port,
                         extra_env=CREDENTIALS, command=("api",))


def wait_served_by(api: WorkerProcess, timeout: float = 30.0) -> None:
    """Until a /health answer on the shared port comes from this process, healthy: each request is
    a new connection, which the kernel gives to one of the processes on the port."""
    assert api.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = health(api.url)
        if status == 200 and body.get("pid") == api.process.pid:
            return
        time.sleep(0.1)
    raise AssertionError(f"no healthy answer from process {api.process.pid} on {api.url}")


def post_status(url: str) -> int:
    request = urllib.request.Request(f"{url}/", data=b"{}", method="POST",
                                     headers={"X-Amz-Target": "AWSEvents.ListEventBuses"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def put(events: BaseClient, bus: str, n: int) -> list[str]:
    entries = [{"EventBusName": bus, "Source": "shop", "DetailType": "order", "Detail": json.dumps({"n": i})}
               for i in range(n)]
    result = events.put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0, result
    return [entry["EventId"] for entry in result["Entries"]]


def routed(worker: WorkerProcess, topic: str, ids: list[str]) -> set[str]:
    records = read_topic(worker.bootstrap, topic, until=lambda rs: set(ids) <= {r.get("id") for r in rs})
    return set(ids) & {record.get("id") for record in records}


def test_two_api_processes_share_a_port_and_the_worker_routes_their_events(
        kafka_bootstrap: str, worker_logs: Path) -> None:
    worker = WorkerProcess(kafka_bootstrap, extra_env={**CREDENTIALS, "BUSBAR_WORKER_API": "0"})
    port = free_port()
    with running(worker, worker_logs), running(api_process(worker, port), worker_logs) as first:
        # The worker's own API is off; its health page is not.
        assert post_status(worker.url) == 405
        assert http_status(f"{worker.url}/health") == 200

        bus, target = unique("ingest"), unique("ingest-target")
        ensure_topics(kafka_bootstrap, {target: {}}, partitions=1, replication=1)
        events = client_for(first.url, KEY_ID, SECRET)
        events.create_event_bus(Name=bus)
        events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
        events.put_targets(Rule="all", EventBusName=bus, Targets=[
            {"Id": "topic", "Arn": kafka_topic_arn("us-east-1", "000000000000", target)}])

        alone = put(events, bus, 5)  # the first process holds the port alone
        with running(api_process(worker, port), worker_logs) as second:  # binds it too: SO_REUSEPORT
            wait_served_by(second)
            side_by_side = [event_id for _ in range(10) for event_id in put(client_for(first.url, KEY_ID, SECRET),
                                                                             bus, 3)]
            first.stop()
            wait_served_by(second)
            after = put(events, bus, 5)  # only the second is left on the port

            # SigV4 and the size limits hold in an API process as in a worker.
            with pytest.raises(ClientError) as refused:
                client_for(second.url, KEY_ID, "wrong-secret").put_events(Entries=[
                    {"EventBusName": bus, "Source": "shop", "DetailType": "order", "Detail": "{}"}])
            assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
            status, body, _ = raw_post(second.url, b" " * (2 * 1024 * 1024), target="AWSEvents.PutEvents")
            assert (status, body["__type"]) == (413, "RequestEntityTooLargeException")

        ids = alone + side_by_side + after
        assert len(set(ids)) == 40
        assert routed(worker, target, ids) == set(ids)
