"""Scheduler benchmark: 100,000 EventBridge Scheduler schedules on one worker's scheduler.

Runs the scheduler loop in this process (the same SchedulerLoop a worker runs in its thread)
against the embedded Apache Kafka broker, each firing committed in a Kafka transaction with
its state record, as in production. Two runs, each with 100,000 rate(1 minute) schedules
targeting a Kafka topic:
  1. burst: every schedule falls due at the same instant; the time to fire them all gives the
     firings/s one worker sustains (and the lateness a burst that size causes);
  2. steady: the schedules' start times spread over a minute (1,667 firings/s, what 100,000
     per-minute schedules ask for); lateness p50/p99 = commit time minus due time.
Lateness is measured on the scheduler's clock after each transaction commits.
The peer (last line): the same burst fired by a naive loop with no exactly-once (a plain
producer, one `Timing.next_after` per firing, no state), and the ratio.

Run: .venv/bin/python bench/schedules.py [--schedules N] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import dataclasses
import queue
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.brokers import kafka  # noqa: E402
from streams.arns import kafka_topic_arn  # noqa: E402
from streams.config_store import ConfigStore  # noqa: E402
from streams.model import Change, schedule_key  # noqa: E402
from streams.scheduler.agenda import Due  # noqa: E402
from streams.scheduler.clock import Clock  # noqa: E402
from streams.scheduler.service import SchedulerLoop  # noqa: E402
from streams.schedules import schedule_timing  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.topics import TopicNames, ensure_internal_topics, ensure_topics  # noqa: E402

PARTITIONS = 4


def setup_s(count: int) -> float:
    """Real seconds from writing the schedules to their first due time: the loop loads every plan first."""
    return 10.0 + count / 5000


def schedules(count: int, first_due: float, spread_s: float) -> dict[str, dict]:
    """`count` rate(1 minute) schedules whose first firings spread evenly over `spread_s` from first_due."""
    records = {}
    for i in range(count):
        created = first_due + spread_s * i / count
        records[schedule_key("default", f"s{i}")] = {
            "Name": f"s{i}", "GroupName": "default", "ScheduleExpression": "rate(1 minute)", "State": "ENABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"}, "ActionAfterCompletion": "NONE",
            "Target": {"Arn": kafka_topic_arn("us-east-1", "000000000000", "bench-fired"), "RoleArn": "r",
                       "Input": '{"at": "<aws.scheduler.scheduled-time>"}'},
            "CreationDate": created, "LastModificationDate": created}
    return records


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_scheduler(bootstrap: str, count: int, spread_s: float) -> tuple[float, list[float]]:
    """(seconds from the first due time to the last firing committed, lateness of each firing)."""
    settings = dataclasses.replace(Settings.from_env(), kafka_bootstrap=bootstrap, partitions=PARTITIONS,
                                   topic_prefix=f"bench{uuid.uuid4().hex[:6]}")
    ensure_internal_topics(settings)
    topics = TopicNames(settings.topic_prefix)
    ensure_topics(bootstrap, {"bench-fired": {}}, partitions=PARTITIONS, replication=1)
    first_due = time.time() + setup_s(count)
    store = ConfigStore(bootstrap, topics.config)
    store.start()
    started = time.monotonic()
    store.write_many(schedules(count, first_due, spread_s), timeout=120)
    print(f"setup: {count:,} schedules written to the config topic in {time.monotonic() - started:.1f}s", flush=True)
    changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
    store.subscribe(changes.put)
    lateness: list[float] = []
    finished = threading.Event()
    last_commit = [0.0]

    def fired(due: list[Due], now: float) -> None:
        if finished.is_set():
            return  # a second round: not measured
        lateness.extend(now - item.fire_at for item in due)
        last_commit[0] = now
        if len(lateness) >= count:
            finished.set()

    stopping = threading.Event()
    loop = SchedulerLoop(settings, store, changes, stopping, Clock(), on_fired=fired)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    if not finished.wait(setup_s(count) + spread_s + 120):
        raise SystemExit(f"only {len(lateness):,} of {count:,} firings within the time allowed")
    stopping.set()
    thread.join(30)
    store.stop()
    return last_commit[0] - first_due, lateness


def naive_burst(bootstrap: str, count: int) -> float:
    """Firings/s of a loop that fires each due schedule with a plain producer: no transaction, no state."""
    now = time.time()
    timings = [schedule_timing(record) for record in schedules(count, now - 1, 0).values()]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "queue.buffering.max.messages": 1_000_000})
    before = datetime.fromtimestamp(now - 2, UTC)
    started = time.monotonic()
    for timing in timings:
        scheduled = timing.next_after(before)
        producer.produce("bench-naive", orjson.dumps({"at": scheduled.isoformat()}))  # type: ignore[union-attr]
        timing.next_after(scheduled)  # its next time, as any scheduler must know it  # type: ignore[arg-type]
        producer.poll(0)
    producer.flush(60)
    return count / (time.monotonic() - started)


def run(bootstrap: str, count: int) -> None:
    drain, burst = run_scheduler(bootstrap, count, spread_s=0.0)
    burst_rate = count / drain
    print(f"burst: {count:,} firings due at once, all committed in {drain:.2f}s: {burst_rate:,.0f} firings/s; "
          f"lateness p50 {percentile(burst, 0.5) * 1000:.0f} ms, p99 {percentile(burst, 0.99) * 1000:.0f} ms",
          flush=True)
    _, steady = run_scheduler(bootstrap, count, spread_s=60.0)
    print(f"steady: {count:,} per-minute schedules ({count / 60:,.0f} firings/s): lateness "
          f"p50 {percentile(steady, 0.5) * 1000:.1f} ms, p99 {percentile(steady, 0.99) * 1000:.1f} ms", flush=True)
    ensure_topics(bootstrap, {"bench-naive": {}}, partitions=PARTITIONS, replication=1)
    naive = naive_burst(bootstrap, count)
    print(f"naive loop (plain producer, no transactions, no state): {naive:,.0f} firings/s; "
          f"busbar x{burst_rate / naive:.2f} of it with exactly-once firing", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp, kafka(args.kafka, Path(tmp), PARTITIONS) as bootstrap:
        run(bootstrap, args.schedules)


if __name__ == "__main__":
    main()
