"""HTTP delivery under stress: a slow endpoint beside a fast one, an endpoint failing half its
requests at random, and a worker killed while retries are parked."""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from botocore.client import BaseClient

from tests.http_endpoint import Answer, Endpoint, Received
from tests.support import DELIVERY_ENV, WorkerProcess, running, unique
from tests.test_api_support import client_for
from tests.test_delivery_http import API_KEY, dead_letters, metric, put, route_to

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    env = {**DELIVERY_ENV, "BUSBAR_DELIVERY_TIMEOUT_S": "10",  # the slow endpoint takes 5 s
           "BUSBAR_LOG_LEVEL": "info"}  # the rate-limit test reads the delivery group's shares from the log
    with running(WorkerProcess(kafka_bootstrap, extra_env=env), worker_logs) as process:
        yield process


@pytest.fixture(scope="module")
def events(worker: WorkerProcess) -> BaseClient:
    return client_for(worker.url)


def test_a_slow_endpoint_does_not_delay_a_fast_one(events: BaseClient) -> None:
    sent_at: dict[str, float] = {}
    with Endpoint(lambda r: Answer(delay=5.0)) as slow, Endpoint() as fast:
        slow_rule, _ = route_to(events, slow.url + "/slow", "API_KEY", API_KEY)
        fast_rule, _ = route_to(events, fast.url + "/fast", "API_KEY", API_KEY)
        for _ in range(20):  # interleaved: the fast endpoint's events would queue behind the slow one's
            for source in (slow_rule, fast_rule):
                stamp = time.monotonic()
                for event_id in put(events, source, 10):
                    sent_at[event_id] = stamp
        fast_requests = fast.wait_for(200, timeout=60)
        slow_requests = slow.wait_for(200, timeout=90)

    def p50(requests: list[Received]) -> float:
        return statistics.median(r.at - sent_at[r.json()["id"]] for r in requests)

    fast_p50, slow_p50 = p50(fast_requests), p50(slow_requests)
    print(f"\nisolation: fast endpoint p50 {fast_p50 * 1000:.0f} ms (arrival), "
          f"slow endpoint (answers after 5 s) p50 {slow_p50 * 1000:.0f} ms (arrival)")
    assert fast_p50 < 1.0, "the fast endpoint's deliveries waited behind the slow one's"
    assert slow_p50 > fast_p50


def test_rate_limit_holds_for_all_workers_together(events: BaseClient, worker: WorkerProcess,
                                                    worker_logs: Path) -> None:
    """Two workers each taking the whole limit would send 40 requests at 5 a second in ~4 s; shared,
    they take at least 7 s (after a burst of at most one second's worth)."""
    second = WorkerProcess(worker.bootstrap, prefix=worker.prefix, app_id=worker.app_id,
                           extra_env=worker.extra_env)
    with Endpoint() as endpoint, running(second, worker_logs):
        deadline = time.monotonic() + 60  # until the delivery group has both workers
        while "100%" in _last_share(worker) and time.monotonic() < deadline:
            time.sleep(0.5)
        name, _ = route_to(events, endpoint.url + "/limited", "API_KEY", API_KEY, rate=5)
        put(events, name, 40)
        arrived = endpoint.wait_for(40, timeout=60)
        share = _last_share(worker).split("delivery: ")[-1].strip()
    span = arrived[-1].at - arrived[0].at
    busiest = max(sum(1 for r in arrived if start.at <= r.at < start.at + 1.0) for start in arrived)
    print(f"\nrate limit 5/s over two workers (the first: {share}): "
          f"40 requests in {span:.1f} s, at most {busiest} in one second")
    assert span >= 6.0


def _last_share(worker: WorkerProcess) -> str:
    """The worker's latest "delivery: N partitions assigned, P% ..." log line (info level)."""
    lines = [line for line in (worker.log_tail(400) or "").splitlines() if "partitions assigned" in line]
    return lines[-1] if lines else "100%"


def test_half_failing_endpoint_every_event_delivered_or_dead_lettered(events: BaseClient,
                                                                     worker: WorkerProcess) -> None:
    rng = random.Random(14)
    lock = threading.Lock()
    delivered: Counter[str] = Counter()

    def script(request: Received) -> Answer:
        with lock:
            roll = rng.random()
        if roll < 0.25:
            return Answer(status=500, body=b"flaky")
        if roll < 0.5:
            return Answer(drop=True)
        with lock:
            delivered[request.json()["id"]] += 1
        return Answer()

    queue = unique("faults")
    with Endpoint(script) as endpoint:
        name, _ = route_to(events, endpoint.url + "/flaky", "API_KEY", API_KEY, target={
            "RetryPolicy": {"MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:us-east-1:000000000000:{queue}"}})
        sent = set(put(events, name, 1000))
        deadline = time.monotonic() + 180
        dead: set[str] = set()
        while time.monotonic() < deadline:
            with lock:
                arrived = set(delivered)
            if arrived | dead >= sent:
                break
            letters = dead_letters(worker.bootstrap, f"sqs.{queue}", 0, 1)  # those whose age ran out
            dead = {orjson.loads(m.value())["id"] for m in letters}
            time.sleep(1)
    with lock:
        arrived = set(delivered)
        duplicates = sum(count - 1 for count in delivered.values())
    missing = sent - arrived - dead
    print(f"\nfaults: {len(sent)} events, {len(arrived)} delivered, {len(dead)} dead-lettered, "
          f"{duplicates} delivered more than once, {len(dead & arrived)} both delivered and dead-lettered, "
          f"{len(missing)} missing; {len(endpoint.requests)} requests")
    assert not missing
    assert len(arrived) > 900


def test_parked_retries_survive_kill_9(kafka_bootstrap: str, worker_logs: Path) -> None:
    failing = threading.Event()
    failing.set()
    delivered: set[str] = set()

    def script(request: Received) -> Answer:
        if failing.is_set():
            return Answer(status=503)
        delivered.add(request.json()["id"])
        return Answer()

    first = WorkerProcess(kafka_bootstrap, extra_env=DELIVERY_ENV)
    with Endpoint(script) as endpoint:
        first.start(worker_logs)
        try:
            events = client_for(first.url)
            name, _ = route_to(events, endpoint.url + "/later", "API_KEY", API_KEY)
            sent = set(put(events, name, 20))
            endpoint.wait_for(5, timeout=60)  # failed: parked in a retry topic, or held by the open breaker
            deadline = time.monotonic() + 60
            while metric(first, "busbar_delivery_retries_parked_total") < 40:  # twice the events: most wait there
                assert time.monotonic() < deadline, "the failed deliveries were not parked"
                time.sleep(0.2)
        finally:
            first.kill()
        failing.clear()
        second = WorkerProcess(kafka_bootstrap, prefix=first.prefix, app_id=first.app_id,
                               extra_env=first.extra_env)
        second.start(worker_logs, timeout=120)  # Faust's group waits out the killed member's session first
        try:
            deadline = time.monotonic() + 90
            while not sent <= delivered and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            second.stop()
    assert sent <= delivered, f"{len(sent - delivered)} of 20 parked deliveries lost with the worker"
