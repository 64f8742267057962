"""`busbar up`: broker (unless one is given), topics, one worker and, if asked, API processes,
in the foreground.

The worker and the API processes run as child processes, so that Ctrl-C or SIGTERM can stop them
and then the broker in that order, each with a deadline, leaving no process and no bound port behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

from streams.embedded_kafka import (
    EmbeddedKafka,
    EmbeddedKafkaError,
    fetch_jars,
    port_free,
    spawn,
    stop_process,
)
from streams.settings import Settings

WORKER_STOP_TIMEOUT_S = 6.0
READY_TIMEOUT_S = 60.0


class UpError(RuntimeError):
    """Printed as one line by the CLI."""


def wait_healthy(url: str, child: subprocess.Popen, timeout: float, name: str = "the worker",
                 processes: int = 1) -> None:
    """Until `processes` distinct processes have answered 200 at url (API processes share a port
    and say their pid; each request is a new connection, which the kernel gives to any of them)."""
    healthy: set[object] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise UpError(f"{name} exited with {child.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    healthy.add(json.loads(resp.read()).get("pid"))
                    if len(healthy) >= processes:
                        return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise UpError(f"{name} did not report healthy at {url} within {timeout:.0f}s")


@dataclass(frozen=True)
class ApiProcesses:
    """`busbar up --api-processes N`: N API processes (`busbar api`) sharing `port`."""

    count: int
    port: int

    def url(self, settings: Settings) -> str:
        return f"http://{settings.host}:{self.port}"


def banner(settings: Settings, api_url: str, embedded: bool, api: ApiProcesses | None = None) -> str:
    from streams.api.credentials import load_credentials

    try:
        auth = "SigV4 required" if load_credentials(os.environ) else "local mode: any credentials accepted"
    except ValueError as exc:
        raise UpError(str(exc)) from exc
    kind = "embedded Apache Kafka" if embedded else "Kafka"
    processes = [f"  API processes: {api.url(settings)}    ({api.count} sharing the port; PutEvents scales here)"] \
        if api is not None else []
    return "\n".join([
        "busbar is up  (Ctrl-C stops it)",
        f"  API:    {api_url}    ({auth})",
        *processes,
        f"  health: {api_url}/health    metrics: {api_url}/metrics",
        f"  {kind}: {settings.kafka_bootstrap}",
        f"  try:    aws events list-event-buses --endpoint-url {api_url} --region {settings.region}",
    ])


def run_up(settings: Settings, api: ApiProcesses | None = None) -> int:
    """Runs until a signal; returns the process exit code."""
    if not port_free(settings.port, settings.host):
        raise UpError(f"port {settings.port} is already in use: pick another with --port")
    if api is not None and not port_free(api.port, settings.host):
        raise UpError(f"port {api.port} is already in use: pick another with --api-port")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    broker: EmbeddedKafka | None = None
    worker: subprocess.Popen | None = None
    api_children: subprocess.Popen | None = None
    try:
        if settings.embedded:
            fetch_jars(settings.kafka_lib)
            broker = EmbeddedKafka(settings.data_dir / "kafka", settings.broker_port, settings.kafka_lib,
                                   partitions=settings.partitions)
            print(f"starting embedded Apache Kafka on {broker.bootstrap} (data in {broker.data_dir}) ...", flush=True)
            broker.start()
            os.environ["BUSBAR_KAFKA_BOOTSTRAP"] = broker.bootstrap
            settings = Settings.from_env()
        print("starting worker ...", flush=True)
        worker = spawn([sys.executable, "-m", "streams", "worker"], env=dict(os.environ))
        api_url = f"http://{settings.host}:{settings.port}"
        wait_healthy(f"{api_url}/health", worker, READY_TIMEOUT_S)
        if api is not None:
            print(f"starting {api.count} API processes ...", flush=True)
            api_children = spawn([sys.executable, "-m", "streams", "api", "--processes", str(api.count)],
                                 env={**os.environ, "BUSBAR_PORT": str(api.port)})
            wait_healthy(f"{api.url(settings)}/health", api_children, READY_TIMEOUT_S, "the API processes",
                         api.count)
        print(banner(settings, api_url, broker is not None, api), flush=True)
        while not stop.is_set():
            for name, child in (("the worker", worker), ("the API processes", api_children)):
                if child is not None and child.poll() is not None:
                    print(f"busbar: {name} exited with {child.returncode}", file=sys.stderr)
                    return 1
            stop.wait(0.5)
        print("stopping ...", flush=True)
        return 0
    except EmbeddedKafkaError as exc:
        raise UpError(str(exc)) from exc
    finally:
        stop_process(api_children, WORKER_STOP_TIMEOUT_S)
        stop_process(worker, WORKER_STOP_TIMEOUT_S)
        if broker is not None:
            broker.stop()
