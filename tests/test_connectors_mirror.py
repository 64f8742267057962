"""Two regions, each its own Kafka cluster and worker, mirroring their default buses both ways.

10,000 events are put in each region, the mirror connectors are restarted halfway through,
and then every event must be on the other side at least once, with its id and time (its
bytes) unchanged and the region it came from recorded, and no event may come back to the
region it left.
"""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from connectors.mirror import BATCH
from streams.envelope import new_event
from tests.connect_support import call, wait_for
from tests.support import WorkerProcess, embedded_broker, running, unique
from tests.test_router_support import headers, read_all

pytestmark = pytest.mark.kafka

EVENTS_PER_REGION = 10_000
EAST, WEST = "us-east-1", "eu-west-1"


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory, worker_logs: Path) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    prefix, tmp_path = unique("m"), tmp_path_factory.mktemp("regions")
    with embedded_broker(tmp_path / "east") as east_kafka, embedded_broker(tmp_path / "west") as west_kafka:
        east = WorkerProcess(east_kafka.bootstrap, prefix=prefix, extra_env={
            "BUSBAR_REGION": EAST, "BUSBAR_CLUSTERS": f"west={west_kafka.bootstrap}"})
        west = WorkerProcess(west_kafka.bootstrap, prefix=prefix, extra_env={
            "BUSBAR_REGION": WEST, "BUSBAR_CLUSTERS": f"east={east_kafka.bootstrap}"})
        with running(east, worker_logs), running(west, worker_logs):
            yield east, west


def put_events(worker: WorkerProcess, region: str, count: int, start: int) -> dict[str, bytes]:
    """`count` events on the region's default bus; their ids -> the bytes put."""
    producer = Producer({"bootstrap.servers": worker.bootstrap, "linger.ms": 20})
    put: dict[str, bytes] = {}
    for n in range(start, start + count):
        event = new_event(source="shop", detail_type="order", detail={"n": n, "from": region},
                          account="000000000000", region=region)
        value = orjson.dumps(event)
        producer.produce(worker.topics.bus("default"), value, event["id"].encode())
        put[event["id"]] = value
    assert producer.flush(60) == 0
    return put


def mirror_config(target_cluster: str, target_region: str) -> dict[str, str]:
    return {"connector.class": "Mirror", "bus": "default", "target.cluster": target_cluster,
            "target.region": target_region, "tasks.max": "2"}


def test_two_regions_mirror_both_ways_without_loops(regions: tuple[WorkerProcess, WorkerProcess]) -> None:
    east, west = regions
    assert call(east.url, "POST", "/connectors", {"name": "to-west", "config": mirror_config("west", WEST)})[0] == 201
    assert call(west.url, "POST", "/connectors", {"name": "to-east", "config": mirror_config("east", EAST)})[0] == 201

    half = EVENTS_PER_REGION // 2
    from_east = put_events(east, EAST, half, 0)
    from_west = put_events(west, WEST, half, 0)
    assert call(east.url, "POST", "/connectors/to-west/restart") == (204, None)
    assert call(west.url, "POST", "/connectors/to-east/restart") == (204, None)
    from_east |= put_events(east, EAST, EVENTS_PER_REGION - half, half)
    from_west |= put_events(west, WEST, EVENTS_PER_REGION - half, half)

    def arrived(worker: WorkerProcess, expected: dict[str, bytes]) -> list | None:
        records = read_all(worker.bootstrap, worker.topics.bus("default"), timeout=60)
        got = {orjson.loads(m.value())["id"] for m in records}
        return records if expected.keys() <= got else None

    on_west = wait_for(lambda: arrived(west, from_east), timeout=180, what="east's events in the west")
    on_east = wait_for(lambda: arrived(east, from_west), timeout=180, what="west's events in the east")
    time.sleep(3)  # time for any event to come back, if one were going to
    on_west = read_all(west.bootstrap, west.topics.bus("default"), timeout=60)
    on_east = read_all(east.bootstrap, east.topics.bus("default"), timeout=60)

    for here, records, own, other, other_region in [(EAST, on_east, from_east, from_west, WEST),
                                                    (WEST, on_west, from_west, from_east, EAST)]:
        counts = Counter(orjson.loads(m.value())["id"] for m in records)
        assert all(counts[event_id] == 1 for event_id in own), f"an event of {here} came back to it"
        assert set(counts) == own.keys() | other.keys()
        # The restart resumed from the committed progress: at most a batch per task is read twice.
        assert sum(counts[event_id] - 1 for event_id in other) <= 2 * BATCH
        for msg in records:
            event_id = orjson.loads(msg.value())["id"]
            if event_id in other:
                assert msg.value() == other[event_id]  # id, time, everything as it was put
                assert headers(msg)["busbar-source-region"] == other_region
                assert headers(msg)["busbar-regions"] == f"{other_region},{here}"
            else:
                assert "busbar-regions" not in headers(msg)

    status = call(east.url, "GET", "/connectors/to-west/status")[1]
    assert [task["state"] for task in status["tasks"]] == ["RUNNING", "RUNNING"]
    metrics = _text(f"{east.url}/metrics")
    assert 'busbar_connector_rejected_total{connector="to-west",reason="loop"}' in metrics  # west's events stopped
    assert 'busbar_connector_mirror_lag{connector="to-west"' in metrics


def _text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_mirror_config_errors(regions: tuple[WorkerProcess, WorkerProcess]) -> None:
    east, _west = regions
    status, body = call(east.url, "POST", "/connectors", {"name": unique("m"), "config": {
        "connector.class": "Mirror", "target.cluster": "nowhere", "target.region": EAST,
        "event.pattern": '{"source": "not-a-list"}'}})
    assert status == 400
    assert "Unknown cluster nowhere: name one of BUSBAR_CLUSTERS (west) or give host:port" in body["message"]
    assert "The target region is this worker's own (us-east-1)" in body["message"]
    assert "Not a valid event pattern" in body["message"]
