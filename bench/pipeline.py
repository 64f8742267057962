"""Router pipeline benchmark: one worker, 1,000 rules, events already on a bus.

Measures, against the embedded Apache Kafka broker on this machine:
  1. throughput: routed input events/s while one worker drains --events events (each matches
     two rules whose targets are Kafka topics), judged by the router group's committed offsets,
     after --warmup-events more: a young broker JVM is still compiling its hot paths (over a
     whole run with 200,000 warm-up events the broker once averaged 64 us of CPU per routed
     event, against 22 us over the timed events after 800,000). The CPU line covers the timed
     events only;
  2. latency: put on the bus -> record on the target topic, p50/p99, at a steady 2,000 events/s;
  3. the peer: what a Faust user writes first (an agent, a loop over the rules calling
     `compile_pattern(...).matches`, `await topic.send(...)` per match) on a sample of the same
     events, and the ratio.
`--profile` runs the router loop in this process under cProfile instead of in a worker and
prints where the router thread's time goes. `--archive` adds an archive of every event on the
bus, to measure what archiving costs the router (one more match and produce per event).

Run: .venv/bin/python bench/pipeline.py [--events N] [--warmup-events N] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streams.arns import kafka_topic_arn  # noqa: E402
from streams.config_store import ConfigStore  # noqa: E402
from streams.embedded_kafka import EmbeddedKafka, free_ports  # noqa: E402
from streams.envelope import new_event  # noqa: E402
from streams.model import archive_key, rule_key  # noqa: E402
from streams.settings import Settings  # noqa: E402
from streams.topics import TopicNames, ensure_topics  # noqa: E402

RULES = 1000
SOURCES = RULES // 2  # two rules per source: every event matches two rules
TARGET_TOPICS = 10
PARTITIONS = 4
LATENCY_RATE = 2000
LATENCY_WARMUP_S = 10.0
REGION, ACCOUNT = "us-east-1", "000000000000"
BUS = "default"


# --- the workload ---------------------------------------------------------------------------
def rule_patterns() -> list[dict[str, Any]]:
    """Two rules per source, mixing the operator families the pattern engine indexes."""
    patterns: list[dict[str, Any]] = []
    for k in range(SOURCES):
        patterns.append({"source": [f"svc{k}"], "detail-type": ["OrderPlaced", "OrderShipped"]})
        second = [
            {"amount": [{"numeric": [">=", 0, "<", 10_000]}]},
            {"region": [{"prefix": "eu-"}]},
            {"customer": {"tier": [{"anything-but": ["banned"]}]}},
            {"customer": {"id": [{"exists": True}]}},
        ][k % 4]
        patterns.append({"source": [f"svc{k}"], "detail": second})
    return patterns


def target_topic(prefix: str, i: int) -> str:
    return f"{prefix}.target.{i % TARGET_TOPICS}"


def rule_records(prefix: str) -> dict[str, dict[str, Any]]:
    return {
        rule_key(BUS, f"r{i}"): {
            "Name": f"r{i}", "EventBusName": BUS, "EventPattern": orjson.dumps(pattern).decode(), "State": "ENABLED",
            "Targets": [{"Id": "t", "Arn": kafka_topic_arn(REGION, ACCOUNT, target_topic(prefix, i))}],
        }
        for i, pattern in enumerate(rule_patterns())
    }


def make_event(n: int, sent_ns: int = 0) -> bytes:
    return orjson.dumps(new_event(
        source=f"svc{n % SOURCES}", detail_type="OrderPlaced", account=ACCOUNT, region=REGION,
        resources=[f"arn:aws:shop:{REGION}:{ACCOUNT}:order/{n}"],
        detail={"amount": n % 5000, "region": "eu-west-1", "sent_ns": sent_ns,
                "customer": {"id": f"c{n % 977}", "tier": "gold"}, "items": [{"sku": f"s{n % 31}", "qty": 1}]},
    ))


def put_events(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 2_000_000, "compression.type": "none"})
    for n in range(count):
        value = make_event(n)
        while True:
            try:
                producer.produce(topic, value, str(n).encode())
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


# --- measuring -------------------------------------------------------------------------------
def committed_total(consumer: Consumer, topic: str) -> int:
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    return sum(max(tp.offset, 0) for tp in consumer.committed(tps, timeout=10))


def measure_throughput(bootstrap: str, group: str, topic: str, events: int, timeout: float,
                       warmup: int = 0, on_warm: Callable[[int], None] | None = None) -> float:
    """Routed events/s from the first commit past `warmup` events to the commit of the last;
    `on_warm(events committed so far)` is called at that first commit."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        first_at, first = None, 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = committed_total(consumer, topic)
            now = time.monotonic()
            if first_at is None and done > warmup:
                first_at, first = now, done
                if on_warm is not None:
                    on_warm(done)
            if done >= events:
                assert first_at is not None
                return (done - first) / max(now - first_at, 1e-3)
            time.sleep(0.1)
    finally:
        consumer.close()
    raise RuntimeError(f"the router did not route {events} events within {timeout:.0f}s")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (Linux /proc), or 0.0 where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_latency(bootstrap: str, prefix: str, bus_topic: str, seconds: float) -> tuple[float, float, int]:
    """p50, p99 (ms) and count of put -> target-record latencies at LATENCY_RATE events/s.

    The probe's producer and consumer keep librdkafka's defaults, as a user's clients would.
    The first LATENCY_WARMUP_S at the same rate are not counted: a broker JVM a minute old
    answered this probe's first produce requests seconds late even with no router involved.
    Stamped with the monotonic clock: this machine's wall clock was seen to jump by seconds."""
    topics = [target_topic(prefix, i) for i in range(TARGET_TOPICS)]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-latency-{uuid.uuid4().hex}",
                         "auto.offset.reset": "latest", "log_level": 0})
    assigned = threading.Event()
    consumer.subscribe(topics, on_assign=lambda c, parts: assigned.set())
    latencies: list[float] = []
    stop = threading.Event()
    counted_from_ns = time.monotonic_ns() + int((1.0 + LATENCY_WARMUP_S) * 1e9)

    def consume() -> None:
        while not stop.is_set():
            # consume(n, timeout) waits out its timeout until n records came: poll for the first instead.
            first = consumer.poll(0.05)
            for msg in [first, *consumer.consume(1000, 0)] if first is not None else []:
                if msg.error() is None:
                    sent_ns = orjson.loads(msg.value())["detail"]["sent_ns"]
                    if sent_ns >= counted_from_ns:
                        latencies.append((time.monotonic_ns() - sent_ns) / 1e6)

    while not assigned.is_set():
        consumer.poll(0.1)
    time.sleep(1.0)  # let the "latest" positions settle before putting
    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    producer = Producer({"bootstrap.servers": bootstrap})
    started = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - started) < seconds + LATENCY_WARMUP_S:
        due = int(elapsed * LATENCY_RATE)
        while n < due:
            producer.produce(bus_topic, make_event(n, time.monotonic_ns()), str(n).encode())
            n += 1
        producer.poll(0)
        time.sleep(0.002)
    producer.flush(10)
    time.sleep(2.0)
    stop.set()
    reader.join()
    consumer.close()
    if not latencies:
        raise RuntimeError("no routed record arrived during the latency run")
    return percentile(latencies, 0.50), percentile(latencies, 0.99), len(latencies)


# --- the router, as a worker or profiled in-process --------------------------------------------
def router_worker(bootstrap: str, prefix: str, log_dir: Path) -> Any:
    from tests.support import WorkerProcess

    return WorkerProcess(bootstrap, prefix=prefix).start(log_dir)


def profile_router(bootstrap: str, prefix: str, events: int) -> float:
    """The router loop in this process's thread under cProfile; prints the top of the profile."""
    from streams.router.clusters import Clusters
    from streams.router.destinations import KafkaDestinations
    from streams.router.service import RouterLoop

    settings = Settings.from_env({**os.environ, "BUSBAR_KAFKA_BOOTSTRAP": bootstrap, "BUSBAR_TOPIC_PREFIX": prefix,
                                  "BUSBAR_APP_ID": prefix})
    store = ConfigStore(bootstrap, TopicNames(prefix).config)
    changes: queue.SimpleQueue = queue.SimpleQueue()
    store.subscribe(changes.put)
    store.start()
    stopping = threading.Event()
    profiler = cProfile.Profile()
    destinations = KafkaDestinations(Clusters(bootstrap, {}, linger_ms=settings.router_linger_ms), TopicNames(prefix))
    loop = RouterLoop(settings, TopicNames(prefix), store, destinations, changes, stopping)

    def run() -> None:
        profiler.enable()
        try:
            loop.run()
        finally:
            profiler.disable()

    thread = threading.Thread(target=run, name="busbar-router")
    thread.start()
    try:
        rate = measure_throughput(bootstrap, f"{prefix}-router", TopicNames(prefix).bus(BUS), events, 600)
    finally:
        stopping.set()
        thread.join()
        store.stop()
    print(f"profiled router (cProfile slows it): {rate:,.0f} events/s; top functions by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(22)
    return rate


# --- the peer: a plain Faust agent --------------------------------------------------------------
def faust_baseline_main(bootstrap: str, prefix: str, sample: int) -> None:
    """Run in a subprocess: the agent a Faust user writes first; prints `baseline: <events/s>`."""
    from streams.patterns import compile_pattern

    def build(app: Any) -> Callable[[bytes], Awaitable[None]]:
        rules = [(compile_pattern(p), app.topic(target_topic(prefix, i), key_serializer="raw",
                                                value_serializer="raw"))
                 for i, p in enumerate(rule_patterns())]

        async def route(raw: bytes) -> None:
            event = orjson.loads(raw)
            for pattern, topic in rules:
                if pattern.matches(event):
                    await topic.send(key=event["id"].encode(), value=raw)

        return route

    run_faust_peer(bootstrap, prefix, sample, build)


def run_faust_peer(bootstrap: str, prefix: str, sample: int, build: Callable[[Any], Callable[[bytes], Awaitable[None]]]
                   ) -> None:
    """A plain Faust agent over the bus calling the handler `build(app)` returns for each event;
    prints `baseline: <events/s>` after `sample` events and exits."""
    import faust

    app = faust.App(f"{prefix}-faust-{uuid.uuid4().hex[:6]}", broker=f"kafka://{bootstrap}", store="memory://",
                    web_enabled=False, topic_partitions=PARTITIONS, autodiscover=False)
    source = app.topic(TopicNames(prefix).bus(BUS), key_serializer="raw", value_serializer="raw")
    handle = build(app)
    state = {"n": 0, "started": 0.0}

    @app.agent(source)
    async def peer(stream: Any) -> None:
        async for raw in stream:
            if state["n"] == 0:
                state["started"] = time.monotonic()
            await handle(raw)
            state["n"] += 1
            if state["n"] == sample:
                print(f"baseline: {(sample - 1) / (time.monotonic() - state['started']):.1f}", flush=True)
                os._exit(0)

    from faust.worker import Worker

    Worker(app, loglevel="error", redirect_stdouts=False).execute_from_commandline()


def run_helper(option: str, *values: object, script: str = __file__) -> list[float]:
    """This script in a fresh process (the peer, the latency probe): the numbers on its `<word>:` line.

    The latency probe runs apart because in this process (the broker's parent, after the bulk
    put) its producer and reader measured seconds of delay even without a router in between."""
    cmd = [sys.executable, script, option, *map(str, values)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    for line in result.stdout.splitlines():
        if line.startswith(("baseline: ", "latency: ")):
            return [float(value) for value in line.split()[1:]]
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
    raise RuntimeError(f"{option} printed no result (exit {result.returncode}):\n{tail}")


# --- the run ---------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events on the bus for the throughput run")
    parser.add_argument("--warmup-events", type=int, default=800_000,
                        help="events routed before the timed ones (a young broker JVM is still compiling)")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--baseline-events", type=int, default=2000, help="sample size for the Faust agent")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    parser.add_argument("--profile", action="store_true", help="profile the router in-process (no worker)")
    parser.add_argument("--archive", action="store_true", help="archive every event of the bus as well")
    parser.add_argument("--faust-baseline", nargs=3, metavar=("BOOTSTRAP", "PREFIX", "SAMPLE"), help=argparse.SUPPRESS)
    parser.add_argument("--latency-probe", nargs=4, metavar=("BOOTSTRAP", "PREFIX", "SECONDS", "TOPIC"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faust_baseline:
        bootstrap, prefix, sample = args.faust_baseline
        faust_baseline_main(bootstrap, prefix, int(sample))
        return
    if args.latency_probe:
        bootstrap, prefix, seconds, topic = args.latency_probe
        print("latency:", *measure_latency(bootstrap, prefix, topic, float(seconds)), flush=True)
        return

    if args.kafka:
        with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp:
            run(args.kafka, args, Path(tmp), broker_pid=None)
        return
    settings = Settings.from_env()
    with tempfile.TemporaryDirectory(prefix="busbar-bench-") as tmp:
        work = Path(tmp)
        port, controller_port = free_ports(2)
        broker = EmbeddedKafka(work / "kafka", port, settings.kafka_lib, controller_port=controller_port,
                               partitions=PARTITIONS)
        broker.start()
        try:
            run(broker.bootstrap, args, work, broker_pid=broker.process.pid if broker.process else None)
        finally:
            broker.stop()


def run(bootstrap: str, args: argparse.Namespace, work: Path, broker_pid: int | None) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    names = TopicNames(prefix)
    ensure_topics(bootstrap, {names.config: {"cleanup.policy": "compact"}, names.deliveries: {},
                              names.bus(BUS): {}, names.dlq(BUS): {},
                              **{target_topic(prefix, i): {} for i in range(TARGET_TOPICS)}},
                  partitions=PARTITIONS, replication=1)
    records = rule_records(prefix)
    if args.archive:
        ensure_topics(bootstrap, {names.archive("all"): {}}, partitions=PARTITIONS, replication=1)
        records[archive_key("all")] = {"ArchiveName": "all", "EventBusName": BUS, "RetentionDays": 0}
    store = ConfigStore(bootstrap, names.config)
    store.start()
    store.write_many(records, timeout=60)
    store.stop()
    started = time.monotonic()
    total = args.warmup_events + args.events
    put_events(bootstrap, names.bus(BUS), total)
    print(f"setup: {RULES} rules, {total:,} events on {names.bus(BUS)} ({PARTITIONS} partitions), "
          f"each matching 2 rules -> {TARGET_TOPICS} target topics{' and an archive' if args.archive else ''}; "
          f"put in {time.monotonic() - started:.1f}s",
          flush=True)

    if args.profile:
        profile_router(bootstrap, prefix, total)
        return

    worker = router_worker(bootstrap, prefix, work)
    try:
        worker_pid = worker.process.pid if worker.process else None
        at_warm: list[float] = []  # events committed, worker and broker CPU seconds, when timing began

        def note_warm(done: int) -> None:
            at_warm.extend((done, cpu_seconds(worker_pid), cpu_seconds(broker_pid)))

        rate = measure_throughput(bootstrap, f"{prefix}-router", names.bus(BUS), total, 900, args.warmup_events,
                                  note_warm)
        timed = total - at_warm[0]
        worker_cpu, broker_cpu = cpu_seconds(worker_pid) - at_warm[1], cpu_seconds(broker_pid) - at_warm[2]
        print(f"throughput: {rate:,.0f} routed input events/s ({2 * rate:,.0f} target records/s), one worker, "
              f"over the {args.events:,} events after {args.warmup_events:,} warm-up ones", flush=True)
        # What bounds it: CPU per routed event over the timed events, the worker's against the broker's.
        print(f"cpu per routed event: worker {worker_cpu / timed * 1e6:.0f} us"
              + (f", broker {broker_cpu / timed * 1e6:.0f} us ({os.cpu_count()} cores on this machine)"
                 if broker_pid else ""), flush=True)
        # The same probe putting straight on a target topic: what the broker and clients alone cost
        # on this machine right now, so the router's share of the figure below can be told apart.
        # Run first, it also brings the broker's JIT to the small-request paths the probe uses.
        floor50, floor99, _ = run_helper("--latency-probe", bootstrap, prefix, args.latency_seconds,
                                         target_topic(prefix, 0))
        print(f"broker floor (same probe, one hop, no router): p50 {floor50:.1f} ms, p99 {floor99:.1f} ms",
              flush=True)
        p50, p99, count = run_helper("--latency-probe", bootstrap, prefix, args.latency_seconds, names.bus(BUS))
        print(f"latency at {LATENCY_RATE}/s for {args.latency_seconds:.0f}s: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"({count:,.0f} target records)", flush=True)
    finally:
        worker.stop()

    (baseline,) = run_helper("--faust-baseline", bootstrap, prefix, args.baseline_events)
    print(f"plain Faust agent (loop over {RULES} rules, await send per match): {baseline:,.0f} events/s "
          f"on a {args.baseline_events:,}-event sample", flush=True)
    print(f"pipeline: {rate:.0f} events/s, p99 {p99:.0f} ms at {LATENCY_RATE}/s (x{rate / baseline:.1f} vs plain "
          f"Faust agent)")


if __name__ == "__main__":
    main()
