"""PutEvents ingest benchmark: the EventBridge API of one worker, and of API processes beside
it, under concurrent clients.

Measures, against the embedded Apache Kafka broker on this machine (or --kafka):
  1. entries/s accepted through `POST /` (PutEvents, AWS JSON 1.1) from concurrent keep-alive
     clients, each sending its next request as soon as the last is answered, with p50/p99
     request latency and the serving processes' CPU per entry. Configurations on the worker's
     own API: 64 clients x 10 entries (the headline), 8 and 1 clients, 1 entry per request,
     and SigV4 on (requests signed in advance, so signing costs the client nothing while timed);
  2. the headline again through 1 and then --api-processes `busbar api` processes sharing one
     port beside the worker (which routes what they put on the bus);
  3. the peer: the same number of events produced straight to the bus topic by one
     confluent-kafka producer (acks=all, idempotent), and the ratio, on the last line.
The client (bench/http_load.py) is this process: 64 (8, 1) real HTTP/1.1 keep-alive connections
on asyncio protocols, the request bytes prepared in advance, each connection sending its next
PutEvents as soon as it has read the last answer in full and checked it (status 200, the
FailedEntryCount its JSON body says); latency is per request, write to whole answer. It is
lean on purpose: it shares the machine's 2 cores with the servers and the broker, which a real
deployment's clients would not, so what it spends is printed too (client cpu per entry).

Run: .venv/bin/python bench/api.py [--seconds S] [--kafka BOOTSTRAP] [--quick] [--api-processes N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import orjson
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.brokers import kafka  # noqa: E402
from bench.http_load import Load, request_bytes  # noqa: E402
from bench.pipeline import cpu_seconds, percentile  # noqa: E402
from streams.embedded_kafka import free_port  # noqa: E402
from streams.envelope import new_event  # noqa: E402
from tests.support import WorkerProcess, health  # noqa: E402

BUS = "bench"
REGION = "us-east-1"
KEY_ID, SECRET = "AKIDBENCH", "bench-secret"
TARGET = "AWSEvents.PutEvents"
BODIES = 256  # distinct request bodies (and signatures), cycled
WARMUP_S = 3.0


@dataclass(frozen=True)
class Config:
    clients: int
    entries: int
    signed: bool

    def __str__(self) -> str:
        return f"{self.clients} clients x {self.entries} entries, {'SigV4' if self.signed else 'local'}"


@dataclass
class Result:
    entries_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_entry: float
    client_cpu_us_per_entry: float
    failed: int


def body(entries: int, n: int) -> bytes:
    return orjson.dumps({"Entries": [
        {"EventBusName": BUS, "Source": "bench.api", "DetailType": "Order Placed",
         "Detail": orjson.dumps({"order": n * entries + i, "total": 150, "items": ["a", "b"]}).decode()}
        for i in range(entries)]})


def requests(url: str, config: Config) -> list[tuple[bytes, dict[str, str]]]:
    """Bodies with their headers; signed now (SigV4 signatures stay valid for five minutes)."""
    made = []
    for n in range(BODIES):
        data = body(config.entries, n)
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET}
        if config.signed:
            request = AWSRequest(method="POST", url=f"{url}/", data=data, headers=headers)
            SigV4Auth(Credentials(KEY_ID, SECRET), "events", REGION).add_auth(request)
            headers = dict(request.headers.items())
        made.append((data, headers))
    return made


async def load(url: str, config: Config, seconds: float, pids: list[int]) -> Result:
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    prepared = [request_bytes(address.netloc, "/", headers, data) for data, headers in requests(url, config)]
    cpu = {"server": 0.0, "client": 0.0}

    def on_timing() -> None:
        cpu["server"], cpu["client"] = sum(map(cpu_seconds, pids)), time.process_time()

    generator = Load(address.hostname, address.port, prepared, config.clients, config.entries, failed_entries)
    tally, elapsed = await generator.run(WARMUP_S, seconds, on_timing)
    server_cpu = sum(map(cpu_seconds, pids)) - cpu["server"]
    client_cpu = time.process_time() - cpu["client"]
    assert not tally.errors, f"the load generator could not read answers: {tally.errors[:3]}"
    accepted = tally.requests * config.entries - tally.failed_entries
    per_entry = 1e6 / max(accepted, 1)
    return Result(accepted / elapsed, 1000 * percentile(tally.latencies, 0.5),
                  1000 * percentile(tally.latencies, 0.99), server_cpu * per_entry, client_cpu * per_entry,
                  tally.failed_entries)


def failed_entries(answer: object) -> int:
    """FailedEntryCount of a PutEvents answer, which must say it."""
    assert isinstance(answer, dict) and isinstance(answer.get("FailedEntryCount"), int), answer
    return answer["FailedEntryCount"]


def peer(bootstrap: str, topic: str, count: int) -> float:
    """Events/s one confluent-kafka producer puts straight on the bus topic (acks=all, idempotent)."""
    values = [orjson.dumps(new_event(source="bench.api", detail_type="Order Placed", detail={"order": n},
                                     account="000000000000", region=REGION)) for n in range(count)]
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
                         "queue.buffering.max.messages": 2_000_000})
    started = time.monotonic()
    for n, value in enumerate(values):
        while True:
            try:
                producer.produce(topic, value, str(n).encode())
                break
            except BufferError:
                producer.poll(0.01)
    assert producer.flush(120) == 0
    return count / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per configuration")
    parser.add_argument("--kafka", metavar="BOOTSTRAP", help="use this cluster instead of an embedded broker")
    parser.add_argument("--quick", action="store_true", help="only the headline configuration")
    parser.add_argument("--api-processes", type=int, default=2, metavar="N",
                        help="API processes sharing one port for the last measurement (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="busbar-bench-api-") as tmp, kafka(args.kafka, Path(tmp)) as bootstrap:
        run(bootstrap, args, Path(tmp))


def run(bootstrap: str, args: argparse.Namespace, work: Path) -> None:
    headline = Config(64, 10, False)
    configs = [headline] if args.quick else [headline, Config(8, 10, False), Config(1, 10, False),
                                             Config(64, 1, False), Config(64, 10, True)]
    local = WorkerProcess(bootstrap).start(work)
    signed = None
    results: dict[Config, Result] = {}
    by_processes: dict[int, Result] = {}
    try:
        if any(c.signed for c in configs):
            signed = WorkerProcess(bootstrap, prefix=local.prefix, extra_env={
                "BUSBAR_ACCESS_KEY_ID": KEY_ID, "BUSBAR_SECRET_ACCESS_KEY": SECRET}).start(work)
        asyncio.run(create_bus(local.url))
        for config in configs:
            worker = signed if config.signed else local
            assert worker is not None and worker.process is not None
            result = results[config] = asyncio.run(load(worker.url, config, args.seconds, [worker.process.pid]))
            report(str(config), result)
        for count in sorted({1, args.api_processes} - {0}):
            by_processes[count] = through_api_processes(local, count, headline, args.seconds, work)
            report(f"{headline}, {count} API process{'es' if count > 1 else ''} on one port", by_processes[count])
        topic = local.topics.bus(BUS)
    finally:
        local.stop()
        if signed is not None:
            signed.stop()
    best = results[headline]
    direct = peer(bootstrap, topic, max(50_000, int(best.entries_per_s * args.seconds)))
    print(f"one confluent-kafka producer straight to the bus topic: {direct:,.0f} events/s", flush=True)
    beside = "".join(f"; {count} API process{'es' if count > 1 else ''}: {result.entries_per_s:.0f} entries/s, "
                     f"p99 {result.p99_ms:.0f} ms" for count, result in by_processes.items())
    print(f"api: {best.entries_per_s:.0f} entries/s at {headline}, p99 {best.p99_ms:.0f} ms{beside} "
          f"(worker x{best.entries_per_s / direct:.3f} of one producer straight to Kafka)")


def report(label: str, result: Result) -> None:
    print(f"{label}: {result.entries_per_s:,.0f} entries/s, p50 {result.p50_ms:.1f} ms, "
          f"p99 {result.p99_ms:.1f} ms, serving cpu {result.cpu_us_per_entry:.0f} us/entry, "
          f"client cpu {result.client_cpu_us_per_entry:.0f} us/entry"
          + (f", {result.failed} entries failed" if result.failed else ""), flush=True)


def through_api_processes(worker: WorkerProcess, count: int, config: Config, seconds: float, work: Path) -> Result:
    """The load through `count` API processes (`busbar api`) sharing one port beside the worker."""
    port = free_port()
    processes = [WorkerProcess(worker.bootstrap, prefix=worker.prefix, app_id=worker.app_id, port=port,
                               command=("api",)) for _ in range(count)]
    try:
        for process in processes:
            process.start(work)
        wait_all_serving(processes)
        return asyncio.run(load(processes[0].url, config, seconds,
                                [p.process.pid for p in processes if p.process is not None]))
    finally:
        for process in processes:
            process.stop()


def wait_all_serving(processes: list[WorkerProcess], timeout: float = 60.0) -> None:
    """Until each process has answered /health on the shared port (an API process binds it only
    once ready, so its first 200 is its own)."""
    expected = {p.process.pid for p in processes if p.process is not None}
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while seen < expected and time.monotonic() < deadline:
        status, body = health(processes[0].url)
        if status == 200:
            seen.add(body.get("pid", 0))
    assert seen >= expected, f"API processes not all serving: {expected - seen}"


async def create_bus(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(
            f"{url}/", data=orjson.dumps({"Name": BUS}),
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.CreateEventBus"}) as resp:
        assert resp.status == 200, await resp.text()


if __name__ == "__main__":
    main()
