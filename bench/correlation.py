"""Correlation benchmark: what 20 correlation rules on a bus cost the router, how fast the
correlation subsystem itself goes, whether its memory stays flat, and its peer.

Against the embedded Apache Kafka broker on this machine, one worker, the pipeline benchmark's
workload (1,000 ordinary rules, events each matching two of them):
  1. the router's events/s on --events events with no correlation rule;
  2. the same with 20 event_count rules on the same bus (each event matches one; group-by
     detail.customer.id, 1 minute, gte 50), the worker's correlation feed and agent running
     beside the router in the same process; and the agent's observations/s (feed + table).
     Both are bursts: the events wait on the bus while the worker is down, and the rate is
     timed from the first commit past a fifth of them to the last;
  3. memory: --memory-seconds of events whose time advances and whose groups keep changing,
     so windows keep opening and expiring; the worker's RSS and the windows it holds, sampled;
  4. the peer: the same detection as a plain Faust agent with a windowed table (tumbling
     1 minute, count per rule and customer) on a sample, and the ratio.

Run: .venv/bin/python bench/correlation.py [--events N] [--memory-seconds S] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.brokers import kafka  # noqa: E402
from bench.pipeline import (  # noqa: E402
    ACCOUNT,
    BUS,
    PARTITIONS,
    REGION,
    SOURCES,
    TARGET_TOPICS,
    measure_throughput,
    put_events,
    router_worker,
    rule_records,
    run_faust_peer,
    run_helper,
    target_topic,
)
from streams.config_store import ConfigStore  # noqa: E402
from streams.envelope import new_event  # noqa: E402
from streams.model import correlation_key  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402

CORRELATIONS = 20
THRESHOLD = 50


def correlation_records() -> dict[str, dict[str, Any]]:
    """20 rules splitting the sources between them, so each event is observed by exactly one."""
    return {
        correlation_key(BUS, f"c{i}"): {
            "name": f"c{i}", "bus": BUS, "type": "event_count", "timespan": "1m", "lateness": "30s",
            "pattern": {"source": [f"svc{k}" for k in range(SOURCES) if k % CORRELATIONS == i]},
            "group-by": ["detail.customer.id"], "condition": {"gte": THRESHOLD}, "created": 0,
        }
        for i in range(CORRELATIONS)
    }


def rss_mb(pid: int | None) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def windows_held(url: str) -> int:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return int(sum(float(line.split()[-1]) for line in text.splitlines()
                   if line.startswith("busbar_correlation_windows{")))


def stream_changing_groups(bootstrap: str, topic: str, seconds: float, url: str, pid: int | None) -> list[str]:
    """Events at ~2,000/s whose time advances 10 s per wall second and whose customers change every
    minute of event time: without expiry the windows would grow without bound."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    base = datetime.now(UTC)
    samples: list[str] = []
    started = time.monotonic()
    n = 0
    next_sample = 0.0
    while (elapsed := time.monotonic() - started) < seconds:
        while n < elapsed * 2000:
            moment = base + timedelta(seconds=n / 200)
            event = new_event(source=f"svc{n % SOURCES}", detail_type="OrderPlaced", account=ACCOUNT, region=REGION,
                              time=moment, detail={"customer": {"id": f"c{n // 12_000}-{n % 300}"}})
            producer.produce(topic, orjson.dumps(event), str(n).encode())
            n += 1
        producer.poll(0)
        if elapsed >= next_sample:
            samples.append(f"{elapsed:.0f}s {rss_mb(pid):.0f} MB {windows_held(url)} windows")
            next_sample += max(seconds / 8, 5)
        time.sleep(0.01)
    producer.flush(30)
    return samples


def faust_windowed_main(bootstrap: str, prefix: str, sample: int) -> None:
    """Run in a subprocess: the detection as a Faust user writes it; prints `baseline: <events/s>`."""
    from streams.patterns import compile_pattern

    def build(app: Any) -> Callable[[bytes], Awaitable[None]]:
        alerts = app.topic(f"{prefix}.faust-alerts", key_serializer="raw", value_serializer="raw")
        counts = app.Table("counts", default=int, partitions=PARTITIONS).tumbling(60, expires=timedelta(minutes=2))
        rules = [(name, compile_pattern(record["pattern"])) for name, record in correlation_records().items()]

        async def correlate(raw: bytes) -> None:
            event = orjson.loads(raw)
            for name, pattern in rules:
                if pattern.matches(event):
                    key = f"{name}/{event['detail']['customer']['id']}"
                    counts[key] += 1
                    if counts[key].current() == THRESHOLD:
                        await alerts.send(key=key.encode(), value=raw)

        return correlate

    run_faust_peer(bootstrap, prefix, sample, build)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events per router measurement")
    parser.add_argument("--memory-seconds", type=float, default=120.0, help="length of the memory run (0: skip)")
    parser.add_argument("--baseline-events", type=int, default=5000, help="sample size for the Faust agent")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    parser.add_argument("--faust-baseline", nargs=3, metavar=("BOOTSTRAP", "PREFIX", "SAMPLE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faust_baseline:
        bootstrap, prefix, sample = args.faust_baseline
        faust_windowed_main(bootstrap, prefix, int(sample))
        return
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp:
        work = Path(tmp)
        with kafka(args.kafka, work, PARTITIONS) as bootstrap:
            run(bootstrap, args, work)


def run(bootstrap: str, args: argparse.Namespace, work: Path) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    names = TopicNames(prefix)
    ensure_topics(bootstrap, {names.config: {"cleanup.policy": "compact"}, names.deliveries: {},
                              names.correlation: {}, names.bus(BUS): {}, names.dlq(BUS): {},
                              **{target_topic(prefix, i): {} for i in range(TARGET_TOPICS)}},
                  partitions=PARTITIONS, replication=1)
    store = ConfigStore(bootstrap, names.config)
    store.start()
    store.write_many(rule_records(prefix), timeout=60)
    events = args.events
    put_events(bootstrap, names.bus(BUS), events)
    worker = router_worker(bootstrap, prefix, work)
    try:
        plain = measure_throughput(bootstrap, f"{prefix}-router", names.bus(BUS), events, 900, events // 5)
        print(f"router, 0 correlation rules: {plain:,.0f} events/s", flush=True)
        # The same burst as the first: events waiting on the bus when the worker (re)starts.
        worker.stop()
        store.write_many(correlation_records(), timeout=60)
        put_events(bootstrap, names.bus(BUS), events)
        worker.start(work)
        correlated = measure_throughput(bootstrap, f"{prefix}-router", names.bus(BUS), 2 * events, 900,
                                        events + events // 5)
        print(f"router, {CORRELATIONS} correlation rules on the same bus: {correlated:,.0f} events/s "
              f"({correlated / plain - 1:+.0%})", flush=True)
        agent = measure_throughput(bootstrap, prefix, names.correlation, 2 * events, 1800, events // 5)
        print(f"correlation agent (feed + windows in the Faust table): {agent:,.0f} observations/s", flush=True)
        if args.memory_seconds:
            pid = worker.process.pid if worker.process else None
            print(f"memory, {args.memory_seconds:.0f}s of changing groups: "
                  + "; ".join(stream_changing_groups(bootstrap, names.bus(BUS), args.memory_seconds, worker.url, pid)),
                  flush=True)
    finally:
        worker.stop()
        store.stop()
    (baseline,) = run_helper("--faust-baseline", bootstrap, prefix, args.baseline_events, script=__file__)
    print(f"plain Faust agent with a windowed table (same detection): {baseline:,.0f} events/s "
          f"on a {args.baseline_events:,}-event sample", flush=True)
    print(f"correlation: router {plain:.0f} -> {correlated:.0f} events/s with {CORRELATIONS} rules; "
          f"agent {agent:.0f} events/s (x{agent / baseline:.1f} vs plain Faust agent with a windowed table)")


if __name__ == "__main__":
    main()
