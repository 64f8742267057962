"""Two workers with one app id; the one running a replay is killed mid-replay. The replay's
request was never committed, so the survivor claims it, resumes from the progress the dead
worker stored, and completes it: every archived event is replayed (some twice: at least once)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
import pytest

from tests.support import WorkerProcess, unique
from tests.test_api_replays import archive_directly
from tests.test_api_support import client_for, raw_post
from tests.test_router_support import read_all

pytestmark = pytest.mark.kafka

EVENTS = 300_000
ACCOUNT_ARN = "arn:aws:events:us-east-1:000000000000"


def progress(url: str, name: str) -> dict:
    status, body, _ = raw_post(url, json.dumps({"ReplayName": name}).encode(), "AWSEvents.DescribeReplay")
    assert status == 200, body
    return body


def test_a_replay_survives_the_death_of_its_worker(kafka_bootstrap: str, worker_logs: Path) -> None:
    prefix = unique("rfail")
    workers = [WorkerProcess(kafka_bootstrap, prefix=prefix) for _ in range(2)]
    try:
        for worker in workers:
            worker.start(worker_logs)
        events = client_for(workers[0].url)
        archive = unique("arc")
        archive_arn = events.create_archive(ArchiveName=archive,
                                            EventSourceArn=f"{ACCOUNT_ARN}:event-bus/default")["ArchiveArn"]
        started = archive_directly(kafka_bootstrap, workers[0].topics.archive(archive), EVENTS)
        name = unique("replay")
        events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=started - 5,
                            EventEndTime=time.time() + 1, Destination={"Arn": f"{ACCOUNT_ARN}:event-bus/default"})

        deadline = time.monotonic() + 60
        while not progress(workers[0].url, name).get("EventsReplayed"):
            assert time.monotonic() < deadline, "the replay did not start"
            time.sleep(0.1)
        first = progress(workers[0].url, name)
        owner = next(w for w in workers if first["Worker"].endswith(f":{w.port}"))
        survivor = next(w for w in workers if w is not owner)
        owner.kill()
        assert first["State"] == "RUNNING" and first["EventsReplayed"] < EVENTS, first

        deadline = time.monotonic() + 180
        while (final := progress(survivor.url, name))["State"] != "COMPLETED":
            assert final["State"] in ("RUNNING", "STARTING"), final
            assert time.monotonic() < deadline, f"the replay did not complete: {final}"
            time.sleep(0.5)
        assert final["Worker"].endswith(f":{survivor.port}")
        assert final["EventsTotal"] == EVENTS and final["EventsReplayed"] >= EVENTS
        replayed = {orjson.loads(m.value())["id"] for m in read_all(kafka_bootstrap, survivor.topics.replay("default"),
                                                                    timeout=120)}
        assert replayed == {str(n) for n in range(EVENTS)}
    finally:
        for worker in workers:
            worker.stop()
