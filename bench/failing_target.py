"""Failing-target benchmark: the router's throughput while an HTTP target fails in the background.

Two runs on the same embedded broker, each with a fresh worker and the workload of
bench/pipeline.py (1,000 rules, every event matching two of them, Kafka topic targets):
  1. without: those rules alone;
  2. with: one more rule sends every tenth event to an API destination whose endpoint (an
     aiohttp server on 127.0.0.1, in this process) answers 500 to every request, so each of
     those events is tried, parked in a retry topic, tried again, ... by the delivery service
     of the same worker while the router routes;
  3. with --delivery-process, also: the same, but delivered by a `busbar deliver` process beside a
     worker started with BUSBAR_WORKER_DELIVERY=0 (the router's process then does no delivery).
Throughput is routed input events/s from the router group's committed offsets, after
--warmup-events. The last lines are the ratios with/without: 1.0 means the failing target costs
the router nothing. Figures on a shared machine are noisy: compare runs taken minutes apart.

With --rounds N, the runs are repeated N times in turns (without, with, ...), each ratio taken
between runs of the same round, minutes apart at most, and their median reported. Each run also
says the CPU time per routed event of the worker and the delivery process: on a shared machine a
steadier figure than the throughput.

Run: .venv/bin/python bench/failing_target.py [--events N] [--warmup-events N] [--kafka BOOTSTRAP]
     [--delivery-process] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import TopicPartition  # noqa: E402

from bench.brokers import kafka  # noqa: E402
from bench.pipeline import (  # noqa: E402
    BUS,
    PARTITIONS,
    RULES,
    TARGET_TOPICS,
    cpu_seconds,
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


def parked(deliverer: WorkerProcess) -> float:
    """Deliveries parked in retry topics so far (the /metrics of the process that delivers)."""
    text = urllib.request.urlopen(f"{deliverer.url}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("busbar_delivery_retries_parked_total{"))


# The setups: where delivery runs, if there is an HTTP target at all.
WITHOUT, IN_WORKER, IN_PROCESS = "without", "with a failing HTTP target", "the same, delivered by `busbar deliver`"


def measure(bootstrap: str, args: argparse.Namespace, work: Path, setup: str) -> float:
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
    if setup == IN_PROCESS:
        env["BUSBAR_WORKER_DELIVERY"] = "0"
    worker = WorkerProcess(bootstrap, prefix=prefix, extra_env=env).start(work, timeout=120)
    deliverer = WorkerProcess(bootstrap, prefix=prefix, app_id=prefix, extra_env=env,
                              command=("deliver",)).start(work, timeout=120) if setup == IN_PROCESS else worker
    with Endpoint(lambda request: Answer(status=500, body=b"failing on purpose")) as endpoint:
        try:
            if setup != WITHOUT:
                fail_in_background(worker, endpoint)
            total = args.warmup_events + args.events
            put_events(bootstrap, names.bus(BUS), total)
            pids = [p.process.pid if p.process else None for p in ([worker] if deliverer is worker
                                                                   else [worker, deliverer])]
            at_warm: list[float] = []  # events routed, CPU seconds of each process, when timing began

            def note_warm(offsets: list[TopicPartition]) -> None:
                at_warm.extend([sum(max(tp.offset, 0) for tp in offsets), *map(cpu_seconds, pids)])

            rate = measure_throughput(bootstrap, f"{prefix}-router", names.bus(BUS), total, 600,
                                      args.warmup_events, note_warm)
            cpu = [(cpu_seconds(pid) - then) / (total - at_warm[0]) * 1e6
                   for pid, then in zip(pids, at_warm[1:], strict=True)]
            retries = parked(deliverer)
        finally:
            deliverer.stop()
            worker.stop()
        requests = len(endpoint.requests)
    detail = f"; the endpoint answered {requests:,} requests with 500, {retries:,.0f} retries parked" \
        if setup != WITHOUT else ""
    where = " + ".join(f"{us:.0f}" for us in cpu)
    print(f"{setup}: {rate:,.0f} routed input events/s, CPU {where} us per event (worker"
          f"{' + deliver' if len(cpu) > 1 else ''}){detail}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="timed events per run")
    parser.add_argument("--warmup-events", type=int, default=50_000, help="events routed before the timed ones")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    parser.add_argument("--delivery-process", action="store_true",
                        help="also measure delivery in a `busbar deliver` process beside a worker that does not deliver")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the setups in turn this many times; ratios are each round's, then their median")
    args = parser.parse_args()
    setups = [IN_WORKER, IN_PROCESS] if args.delivery_process else [IN_WORKER]
    ratios: dict[str, list[float]] = {setup: [] for setup in setups}
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp, kafka(args.kafka, Path(tmp),
                                                                           PARTITIONS) as bootstrap:
        print(f"setup: 1,000 rules, {args.warmup_events + args.events:,} events per run, each matching 2 rules; "
              f"with: every tenth also to an API destination answering 500", flush=True)
        for _ in range(max(1, args.rounds)):
            without = measure(bootstrap, args, Path(tmp), WITHOUT)
            for setup in setups:
                ratios[setup].append(measure(bootstrap, args, Path(tmp), setup) / without)
    for setup, values in ratios.items():
        where = "delivery in its own process" if setup == IN_PROCESS else "delivery in the worker"
        rounds = f" (median of {len(values)} rounds: {', '.join(f'x{r:.2f}' for r in values)})" \
            if len(values) > 1 else ""
        print(f"router with an HTTP target failing in the background, {where}: "
              f"x{statistics.median(values):.2f} of its throughput without{rounds}")

if __name__ == "__main__":
    main()
