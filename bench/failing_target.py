"""Failing-target benchmark: the router's throughput while an HTTP target fails in the background.

Two runs on the same embedded broker, each with a fresh worker and the workload of
bench/pipeline.py (1,000 rules, every event matching two of them, Kafka topic targets):
  1. without: those rules alone;
  2. with: one more rule sends every tenth event to an API destination whose endpoint (an
     aiohttp server on 127.0.0.1, in this process) answers 500 to every request, so each of
     those events is tried, parked in a retry topic, tried again, ... by the delivery service
     of the same worker while the router routes.
Throughput is routed input events/s from the router group's committed offsets, after
--warmup-events. The last line is the ratio with/without: 1.0 means the failing target costs
the router nothing. Figures on a shared machine are noisy: compare runs taken minutes apart.

Run: .venv/bin/python bench/failing_target.py [--events N] [--warmup-events N] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.brokers import kafka  # noqa: E402
from bench.pipeline import (  # noqa: E402
    BUS,
    PARTITIONS,
    RULES,
    TARGET_TOPICS,
    measure_throughput,
    put_events,
    rule_records,
    target_topic,
)
from streams.config_store import ConfigStore  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402
from tests.http_endpoint import Answer, Endpoint  # noqa: E402
from tests.support import DELIVERY_ENV, WorkerProcess  # noqa: E402
from tests.test_api_support import client_for  # noqa: E402

# bench/pipeline.py's events carry detail.amount = n % 5000: every tenth event is below 500.
FAILING_PATTERN = {"detail": {"amount": [{"numeric": ["<", 500]}]}}


def fail_in_background(worker: WorkerProcess, endpoint: Endpoint) -> None:
    """An API-key connection, an API destination on the failing endpoint, and a rule sending it
    every tenth event, through the API as a user would set them up."""
    events = client_for(worker.url)
    auth = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "bench"}}
    connection = events.create_connection(Name="failing", AuthorizationType="API_KEY",
                                          AuthParameters=auth)["ConnectionArn"]
    destination = events.create_api_destination(Name="failing", ConnectionArn=connection, HttpMethod="POST",
                                                InvocationEndpoint=f"{endpoint.url}/fail")["ApiDestinationArn"]
    events.put_rule(Name="failing", EventBusName=BUS, EventPattern=json.dumps(FAILING_PATTERN))
    answer = events.put_targets(Rule="failing", EventBusName=BUS, Targets=[{"Id": "http", "Arn": destination}])
    assert answer["FailedEntryCount"] == 0


def parked(worker: WorkerProcess) -> float:
    """Deliveries the worker parked in retry topics so far (its /metrics)."""
    text = urllib.request.urlopen(f"{worker.url}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("busbar_delivery_retries_parked_total{"))


def measure(bootstrap: str, args: argparse.Namespace, work: Path, failing: bool) -> float:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    names = TopicNames(prefix)
    ensure_topics(bootstrap, {names.config: {"cleanup.policy": "compact"}, names.deliveries: {},
                              names.bus(BUS): {}, names.dlq(BUS): {},
                              **{target_topic(prefix, i): {} for i in range(TARGET_TOPICS)}},
                  partitions=PARTITIONS, replication=1)
    store = ConfigStore(bootstrap, names.config)
    store.start()
    store.write_many(rule_records(prefix), timeout=60)
    store.stop()
    env = {**DELIVERY_ENV, "BUSBAR_MAX_RULES_PER_BUS": str(RULES + 1)}  # the failing rule comes on top
    worker = WorkerProcess(bootstrap, prefix=prefix, extra_env=env).start(work, timeout=120)
    with Endpoint(lambda request: Answer(status=500, body=b"failing on purpose")) as endpoint:
        try:
            if failing:
                fail_in_background(worker, endpoint)
            total = args.warmup_events + args.events
            put_events(bootstrap, names.bus(BUS), total)
            rate = measure_throughput(bootstrap, f"{prefix}-router", names.bus(BUS), total, 600,
                                      args.warmup_events)
            retries = parked(worker)
        finally:
            worker.stop()
        requests = len(endpoint.requests)
    label = "with a failing HTTP target" if failing else "without"
    detail = f"; the endpoint answered {requests:,} requests with 500, {retries:,.0f} retries parked" if failing else ""
    print(f"{label}: {rate:,.0f} routed input events/s{detail}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="timed events per run")
    parser.add_argument("--warmup-events", type=int, default=50_000, help="events routed before the timed ones")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp, kafka(args.kafka, Path(tmp),
                                                                           PARTITIONS) as bootstrap:
        print(f"setup: 1,000 rules, {args.warmup_events + args.events:,} events per run, each matching 2 rules; "
              f"with: every tenth also to an API destination answering 500", flush=True)
        without = measure(bootstrap, args, Path(tmp), failing=False)
        failing = measure(bootstrap, args, Path(tmp), failing=True)
    print(f"router with an HTTP target failing in the background: {failing:.0f} events/s, "
          f"x{failing / without:.2f} of {without:.0f} without")


if __name__ == "__main__":
    main()
