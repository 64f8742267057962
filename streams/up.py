"""`busbar up`: broker (unless one is given), topics and one worker, in the foreground.

The worker runs as a child process, so that Ctrl-C or SIGTERM can stop it and then the broker
in that order, each with a deadline, leaving no process and no bound port behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

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


def wait_healthy(url: str, worker: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise UpError(f"the worker exited with {worker.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise UpError(f"the worker did not report healthy at {url} within {timeout:.0f}s")


def banner(settings: Settings, api_url: str, embedded: bool) -> str:
    from streams.api.credentials import load_credentials

    try:
        auth = "SigV4 required" if load_credentials(os.environ) else "local mode: any credentials accepted"
    except ValueError as exc:
        raise UpError(str(exc)) from exc
    kind = "embedded Apache Kafka" if embedded else "Kafka"
    return "\n".join([
        "busbar is up  (Ctrl-C stops it)",
        f"  API:    {api_url}    ({auth})",
        f"  health: {api_url}/health    metrics: {api_url}/metrics",
        f"  {kind}: {settings.kafka_bootstrap}",
        f"  try:    aws events list-event-buses --endpoint-url {api_url} --region {settings.region}",
    ])


def run_up(settings: Settings) -> int:
    """Runs until a signal; returns the process exit code."""
    if not port_free(settings.port, settings.host):
        raise UpError(f"port {settings.port} is already in use: pick another with --port")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    broker: EmbeddedKafka | None = None
    worker: subprocess.Popen | None = None
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
        print(banner(settings, api_url, broker is not None), flush=True)
        while not stop.is_set():
            if worker.poll() is not None:
                print(f"busbar: the worker exited with {worker.returncode}", file=sys.stderr)
                return 1
            stop.wait(0.5)
        print("stopping ...", flush=True)
        return 0
    except EmbeddedKafkaError as exc:
        raise UpError(str(exc)) from exc
    finally:
        stop_process(worker, WORKER_STOP_TIMEOUT_S)
        if broker is not None:
            broker.stop()
