"""`busbar deliver`: a delivery process beside a worker whose own delivery is off.

The worker routes (an API destination's events go to the deliveries topic) and the delivery
process, in the same delivery consumer group, sends them to a real aiohttp server on 127.0.0.1;
what the endpoint refuses ends in the bus's dead-letter topic. Its /health and /metrics are its own.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from tests.http_endpoint import Answer, Endpoint
from tests.support import DELIVERY_ENV, WorkerProcess, health, running
from tests.test_api_support import client_for
from tests.test_delivery_http import API_KEY, dead_letters, metric, put, route_to
from tests.test_router_support import headers

pytestmark = pytest.mark.kafka


def test_a_delivery_process_delivers_for_a_worker_that_does_not(kafka_bootstrap: str, worker_logs: Path) -> None:
    worker = WorkerProcess(kafka_bootstrap, extra_env={**DELIVERY_ENV, "BUSBAR_WORKER_DELIVERY": "0"})
    deliverer = WorkerProcess(kafka_bootstrap, prefix=worker.prefix, app_id=worker.prefix, extra_env=DELIVERY_ENV,
                              command=("deliver",))
    script = {"/ok": Answer(status=200), "/bad": Answer(status=400, body=b"no such order")}
    with running(worker, worker_logs), running(deliverer, worker_logs), \
            Endpoint(lambda request: script[request.path]) as endpoint:
        assert deliverer.process is not None and health(deliverer.url)[1]["pid"] == deliverer.process.pid
        events = client_for(worker.url)
        good, _ = route_to(events, endpoint.url + "/ok", "API_KEY", API_KEY)
        bad, bad_arn = route_to(events, endpoint.url + "/bad", "API_KEY", API_KEY)
        delivered = put(events, good, 3)
        (refused,) = put(events, bad)

        endpoint.wait_for(4)
        assert sorted(r.json()["id"] for r in endpoint.received() if r.path == "/ok") == sorted(delivered)
        assert all(r.headers["x-api-key"] == "key-123" for r in endpoint.received())
        (letter,) = dead_letters(kafka_bootstrap, worker.topics.dlq("default"), 1)
        assert orjson.loads(letter.value())["id"] == refused
        assert (headers(letter)["busbar-target"], headers(letter)["busbar-status"]) == (bad_arn, "400")

        # The delivery process did the work (its counters move just after the answers); the worker sent nothing.
        deadline = time.monotonic() + 10
        while metric(deliverer, "busbar_delivery_dead_letters_total") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert metric(deliverer, f'busbar_delivery_requests_total{{destination="{good}",outcome="ok"}}') == 3
        assert metric(deliverer, "busbar_delivery_dead_letters_total") == 1
        assert metric(worker, "busbar_delivery_requests_total") == 0
