"""Router pipeline benchmark: one worker, 1,000 rules, events already on a bus.

Two workloads, each with 1,000 rules made as the API stores them (records on the config topic):
`flat`, rules on flat fields with the families the pattern engine indexes (exact, prefix,
numeric, anything-but, exists), every event matching two; and `mixed` (bench/workloads.py),
a seeded rule set such as real users write: every operator family (cidr, equals-ignore-case
on non-ASCII text, wildcards, arrays of objects, `$or`, ...), a few broad rules, input
transformers on a tenth of the targets, events of a few hundred bytes matching 1-4 rules. For
`mixed` it also prints the share of events the native matcher decides (the rest take the
Python path), from `build_matcher(...).route` over the workload's events.

Measures, against the embedded Apache Kafka broker on this machine:
  1. throughput: routed input events/s while one worker drains --events events, judged by the
     router group's committed offsets, after --warmup-events more: a young broker JVM is still
     compiling its hot paths (over a whole run with 200,000 warm-up events the broker once
     averaged 64 us of CPU per routed event, against 22 us over the timed events after 800,000).
     --runs fresh workers (each a new consumer group, started where the first one's warm-up
     ended) route the same timed events: the median and the spread are printed. The CPU line
     covers the timed events only;
  2. latency: put on the bus -> record on the target topic, p50/p99, at a steady 2,000 events/s
     (records of targets that shape their input are not timed: they lose the put time);
  3. the peer: what a Faust user writes first (an agent, a loop over the rules calling
     `compile_pattern(...).matches`, shaping the input where a target asks, `await topic.send(...)`
     per match) on a sample of the same events, and the ratio.
`--profile` runs the router loop in this process under cProfile instead of in a worker and
prints where the router thread's time goes (per workload; one run). `--archive` adds an archive of every event on the
bus, to measure what archiving costs the router (one more match and produce per event).

Run: .venv/bin/python bench/pipeline.py [--workload flat|mixed|both] [--runs N] [--events N]
     [--warmup-events N] [--mixed-warmup-events N] [--kafka BOOTSTRAP]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.workloads import Workload, mixed_workload  # noqa: E402
from streams.arns import kafka_topic_arn  # noqa: E402
from streams.config_store import ConfigStore  # noqa: E402
from streams.embedded_kafka import EmbeddedKafka, free_ports  # noqa: E402
from streams.envelope import new_event  # noqa: E402
from streams.model import archive_key, rule_key  # noqa: E402
from streams.patterns import compile_pattern  # noqa: E402
from streams.router.native import build_matcher  # noqa: E402
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
MIXED_SEED = 13
MIXED_EVENTS = 20_000  # distinct events of the mixed workload, put on the bus over and over


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


def mixed_rule_records(workload: Workload) -> dict[str, dict[str, Any]]:
    return {
        rule_key(BUS, rule.name): {"Name": rule.name, "EventBusName": BUS, "EventPattern": orjson.dumps(
            rule.pattern).decode(), "State": "ENABLED", "Targets": rule.targets}
        for rule in workload.rules
    }


def native_share(workload: Workload) -> float:
    """The share of the workload's events the native matcher decides whole, as the router builds
    it: not left to Python, and (where `route` also names rules it leaves to Python) naming none."""
    matcher = build_matcher([(rule.name, compile_pattern(rule.pattern)) for rule in workload.rules])
    answers = [matcher.route(raw) for raw in workload.events]
    return sum(answer is not None and (len(answer) < 3 or answer[2] is None) for answer in answers) / len(answers)


def mixed_stamped(workload: Workload) -> Callable[[int, int], bytes]:
    """The n-th mixed event carrying its put time (no rule names `sent_ns`, so it matches as before)."""
    def stamped(n: int, sent_ns: int) -> bytes:
        event = orjson.loads(workload.events[n % len(workload.events)])
        event["detail"]["sent_ns"] = sent_ns
        return orjson.dumps(event)

    return stamped


def put_events(bootstrap: str, topic: str, count: int, value_of: Callable[[int], bytes] = make_event) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 2_000_000, "compression.type": "none"})
    for n in range(count):
        value = value_of(n)
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
def committed(consumer: Consumer, topic: str) -> list[TopicPartition]:
    return consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)


def measure_throughput(bootstrap: str, group: str, topic: str, events: int, timeout: float,
                       warmup: int = 0, on_warm: Callable[[list[TopicPartition]], None] | None = None) -> float:
    """Routed events/s from the first commit past `warmup` events to the commit of the last;
    `on_warm(the offsets committed so far)` is called at that first commit."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        first_at, first = None, 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            offsets = committed(consumer, topic)
            done = sum(max(tp.offset, 0) for tp in offsets)
            now = time.monotonic()
            if first_at is None and done > warmup:
                first_at, first = now, done
                if on_warm is not None:
                    on_warm(offsets)
            if done >= events:
                assert first_at is not None
                if done == first:
                    raise RuntimeError(f"all {events:,} events were routed before timing began: put more")
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


def measure_latency(bootstrap: str, prefix: str, bus_topic: str, seconds: float,
                    stamped: Callable[[int, int], bytes] = make_event) -> tuple[float, float, int]:
    """p50, p99 (ms) and count of put -> target-record latencies at LATENCY_RATE events/s.
    `stamped(n, sent_ns)` is the n-th event put, carrying its put time in `detail.sent_ns`;
    target records without it (a shaped input) are not counted.

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
                    record = orjson.loads(msg.value())
                    detail = record.get("detail") if isinstance(record, dict) else None
                    sent_ns = detail.get("sent_ns") if isinstance(detail, dict) else None
                    if sent_ns is not None and sent_ns >= counted_from_ns:
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
            producer.produce(bus_topic, stamped(n, time.monotonic_ns()), str(n).encode())
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
def router_worker(bootstrap: str, prefix: str, log_dir: Path, app_id: str | None = None) -> Any:
    from tests.support import WorkerProcess

    return WorkerProcess(bootstrap, prefix=prefix, app_id=app_id).start(log_dir)


def start_group_at(bootstrap: str, group: str, offsets: list[TopicPartition]) -> None:
    """Commit `offsets` for a group no worker has joined yet, so its first worker starts there."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()


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
def faust_baseline_main(bootstrap: str, prefix: str, sample: int, workload: str) -> None:
    """Run in a subprocess: the agent a Faust user writes first; prints `baseline: <events/s>`.
    On the mixed workload it also shapes the input of the targets that ask for it."""
    from streams.input_shaping import compile_input

    if workload == "flat":
        rules = [(p, {"Id": "t"}, target_topic(prefix, i)) for i, p in enumerate(rule_patterns())]
    else:
        made = mixed_workload(MIXED_SEED, lambda i: kafka_topic_arn(REGION, ACCOUNT, target_topic(prefix, i)),
                              events=1, region=REGION, account=ACCOUNT)
        rules = [(r.pattern, r.targets[0], target_topic(prefix, i)) for i, r in enumerate(made.rules)]

    def build(app: Any) -> Callable[[bytes], Awaitable[None]]:
        compiled = [(compile_pattern(p), compile_input(spec), f"rule{i}",
                     app.topic(topic, key_serializer="raw", value_serializer="raw"))
                    for i, (p, spec, topic) in enumerate(rules)]

        async def route(raw: bytes) -> None:
            event = orjson.loads(raw)
            for pattern, shaper, name, topic in compiled:
                if pattern.matches(event):
                    value = shaper.shape(event, raw, rule_arn=name, rule_name=name, ingestion_time=event["time"])
                    await topic.send(key=event["id"].encode(), value=value)

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
    parser.add_argument("--workload", choices=("flat", "mixed", "both"), default="both")
    parser.add_argument("--runs", type=int, default=3, help="workers timed one after the other, per workload")
    parser.add_argument("--events", type=int, default=200_000, help="timed events on the bus, per workload")
    parser.add_argument("--warmup-events", type=int, default=800_000,
                        help="flat events routed before the timed ones (a young broker JVM is still compiling)")
    parser.add_argument("--mixed-warmup-events", type=int, default=100_000,
                        help="mixed events routed before the timed ones (the broker is warm after the flat run)")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--baseline-events", type=int, default=2000, help="sample size for the Faust agent")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    parser.add_argument("--profile", action="store_true", help="profile the router in-process (no worker)")
    parser.add_argument("--archive", action="store_true", help="archive every event of the bus as well")
    parser.add_argument("--faust-baseline", nargs=4, metavar=("BOOTSTRAP", "PREFIX", "SAMPLE", "WORKLOAD"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--latency-probe", nargs=5, metavar=("BOOTSTRAP", "PREFIX", "SECONDS", "TOPIC", "WORKLOAD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.faust_baseline:
        bootstrap, prefix, sample, workload = args.faust_baseline
        faust_baseline_main(bootstrap, prefix, int(sample), workload)
        return
    if args.latency_probe:
        bootstrap, prefix, seconds, topic, workload = args.latency_probe
        stamped = make_event if workload == "flat" else mixed_stamped(mixed_workload(
            MIXED_SEED, lambda i: "", events=MIXED_EVENTS, region=REGION, account=ACCOUNT))
        print("latency:", *measure_latency(bootstrap, prefix, topic, float(seconds), stamped), flush=True)
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


@dataclass
class Timed:
    """One worker's throughput run: routed events/s, and CPU per routed event (us) of the worker and the broker."""

    rate: float
    worker_us: float
    broker_us: float


@dataclass
class Outcome:
    workload: str
    runs: list[Timed]
    baseline: float
    p99: float  # ms, at LATENCY_RATE
    native: float | None = None  # share of events the native matcher decides (mixed workload)

    @property
    def rate(self) -> float:
        return statistics.median(run.rate for run in self.runs)


def run(bootstrap: str, args: argparse.Namespace, work: Path, broker_pid: int | None) -> None:
    workloads = ("flat", "mixed") if args.workload == "both" else (args.workload,)
    outcomes = [outcome for i, workload in enumerate(workloads)
                if (outcome := run_workload(workload, bootstrap, args, work, broker_pid, i == 0)) is not None]
    if not outcomes:
        return
    parts = []
    for outcome in outcomes:
        native = f", {outcome.native:.0%} decided natively" if outcome.native is not None else ""
        parts.append(f"{outcome.workload} {outcome.rate:.0f} events/s, p99 {outcome.p99:.0f} ms at {LATENCY_RATE}/s{native} "
                     f"(x{outcome.rate / outcome.baseline:.1f} vs plain Faust agent)")
    print(f"pipeline: {'; '.join(parts)}")


def run_workload(workload: str, bootstrap: str, args: argparse.Namespace, work: Path,
                 broker_pid: int | None, first: bool) -> Outcome | None:
    """Set one workload up on topics of its own and measure it; None when only profiling.
    The broker's own latency floor is measured in the first workload's run only."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    names = TopicNames(prefix)
    ensure_topics(bootstrap, {names.config: {"cleanup.policy": "compact"}, names.deliveries: {},
                              names.bus(BUS): {}, names.dlq(BUS): {},
                              **{target_topic(prefix, i): {} for i in range(TARGET_TOPICS)}},
                  partitions=PARTITIONS, replication=1)
    native: float | None = None
    if workload == "flat":
        records, value_of, warmup, what = rule_records(prefix), make_event, args.warmup_events, "each matching 2 rules"
    else:
        made = mixed_workload(MIXED_SEED, lambda i: kafka_topic_arn(REGION, ACCOUNT, target_topic(prefix, i)),
                              events=MIXED_EVENTS, region=REGION, account=ACCOUNT)
        native = native_share(made)
        print(f"mixed workload: {made.describe()}", flush=True)
        print(f"native matcher decides {native:.1%} of the {len(made.events):,} mixed events "
              "(build_matcher(...).route; the rest take the Python path)", flush=True)
        records, warmup, what = mixed_rule_records(made), args.mixed_warmup_events, "cycling the mixed events"
        value_of = lambda n: made.events[n % len(made.events)]  # noqa: E731
    if args.archive:
        ensure_topics(bootstrap, {names.archive("all"): {}}, partitions=PARTITIONS, replication=1)
        records[archive_key("all")] = {"ArchiveName": "all", "EventBusName": BUS, "RetentionDays": 0}
    store = ConfigStore(bootstrap, names.config)
    store.start()
    store.write_many(records, timeout=60)
    store.stop()
    started = time.monotonic()
    total = warmup + args.events
    put_events(bootstrap, names.bus(BUS), total, value_of)
    print(f"setup ({workload}): {len(records)} rules, {total:,} events on {names.bus(BUS)} ({PARTITIONS} partitions), "
          f"{what} -> {TARGET_TOPICS} target topics{' and an archive' if args.archive else ''}; "
          f"put in {time.monotonic() - started:.1f}s", flush=True)

    if args.profile:
        profile_router(bootstrap, prefix, total)
        return None

    latency: list[float] = []

    def probe_latency() -> None:
        """Against the last timed worker."""
        if first:
            # The same probe putting straight on a target topic: what the broker and clients alone cost
            # on this machine right now, so the router's share of the figure below can be told apart.
            # Run first, it also brings the broker's JIT to the small-request paths the probe uses.
            floor50, floor99, _ = run_helper("--latency-probe", bootstrap, prefix, args.latency_seconds,
                                             target_topic(prefix, 0), "flat")
            print(f"broker floor (same probe, one hop, no router): p50 {floor50:.1f} ms, p99 {floor99:.1f} ms",
                  flush=True)
        p50, p99, count = run_helper("--latency-probe", bootstrap, prefix, args.latency_seconds, names.bus(BUS),
                                     workload)
        print(f"latency ({workload}) at {LATENCY_RATE}/s for {args.latency_seconds:.0f}s: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms ({count:,.0f} target records)", flush=True)
        latency.append(p99)

    runs = timed_runs(bootstrap, prefix, work, total, warmup, args.runs, broker_pid, probe_latency)
    rates = sorted(timed.rate for timed in runs)
    print(f"throughput ({workload}): median {statistics.median(rates):,.0f} routed input events/s over {len(runs)} "
          f"run(s), spread {rates[0]:,.0f}-{rates[-1]:,.0f} (runs: {', '.join(f'{r.rate:,.0f}' for r in runs)}), "
          f"one worker, {args.events:,} timed events after {warmup:,} warm-up ones", flush=True)
    # What bounds it: CPU per routed event over the timed events, the worker's against the broker's.
    print(f"cpu per routed event ({workload}, medians): worker "
          f"{statistics.median(r.worker_us for r in runs):.0f} us"
          + (f", broker {statistics.median(r.broker_us for r in runs):.0f} us ({os.cpu_count()} cores on this "
             "machine)" if broker_pid else ""), flush=True)
    (baseline,) = run_helper("--faust-baseline", bootstrap, prefix, args.baseline_events, workload)
    print(f"plain Faust agent ({workload}: loop over {len(records)} rules, await send per match): {baseline:,.0f} "
          f"events/s on a {args.baseline_events:,}-event sample", flush=True)
    return Outcome(workload, runs, baseline, latency[0], native)


def timed_runs(bootstrap: str, prefix: str, work: Path, total: int, warmup: int, runs: int,
               broker_pid: int | None, before_last_stops: Callable[[], None] | None) -> list[Timed]:
    """`runs` workers one after the other, each in a consumer group of its own: the first routes
    the warm-up events and then the timed ones; each later one starts where the first one's
    warm-up ended (its group's offsets committed before it starts) and routes the timed ones."""
    warm_offsets: list[TopicPartition] = []
    timed: list[Timed] = []
    for k in range(max(runs, 1)):
        app_id = prefix if k == 0 else f"{prefix}-run{k}"
        if k:
            start_group_at(bootstrap, f"{app_id}-router", warm_offsets)
        start = warmup if k == 0 else sum(max(tp.offset, 0) for tp in warm_offsets)
        last = k == max(runs, 1) - 1
        timed.append(timed_run(bootstrap, prefix, work, app_id, total, start, broker_pid, warm_offsets,
                               before_last_stops if last else None))
    return timed


def timed_run(bootstrap: str, prefix: str, work: Path, app_id: str, total: int, start: int,
              broker_pid: int | None, warm_offsets: list[TopicPartition],
              before_stop: Callable[[], None] | None) -> Timed:
    """One worker (consumer group `<app_id>-router`) timed from its first commit past `start`
    events; `warm_offsets`, if empty, receives the offsets committed then."""
    worker = router_worker(bootstrap, prefix, work, app_id)
    try:
        worker_pid = worker.process.pid if worker.process else None
        at_warm: list[float] = []  # events committed, worker and broker CPU seconds, when timing began

        def note_warm(offsets: list[TopicPartition]) -> None:
            if not warm_offsets:
                warm_offsets.extend(offsets)
            at_warm.extend((sum(max(tp.offset, 0) for tp in offsets), cpu_seconds(worker_pid),
                            cpu_seconds(broker_pid)))

        rate = measure_throughput(bootstrap, f"{app_id}-router", TopicNames(prefix).bus(BUS), total, 900, start,
                                  note_warm)
        count = total - at_warm[0]
        result = Timed(rate, (cpu_seconds(worker_pid) - at_warm[1]) / count * 1e6,
                       (cpu_seconds(broker_pid) - at_warm[2]) / count * 1e6)
        if before_stop is not None:
            before_stop()
        return result
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
