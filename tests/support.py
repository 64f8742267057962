"""What integration tests share: running busbar workers as real processes against the test broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from streams.embedded_kafka import EmbeddedKafka, fetch_jars, free_port, free_ports, stop_process
from streams.settings import Settings
from streams.topics import TopicNames

ROOT = Path(__file__).resolve().parent.parent
# What a worker needs to deliver to the tests' HTTP endpoints on 127.0.0.1.
DELIVERY_ENV = {"BUSBAR_SECRET_KEY": Fernet.generate_key().decode(), "BUSBAR_ALLOW_PRIVATE_DESTINATIONS": "1"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def health(url: str) -> tuple[int, dict[str, Any]]:
    """A worker's /health status and body (0 and {} while nothing answers)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2.0) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass
class WorkerProcess:
    """One `busbar worker` subprocess (or another busbar command: `command=("api",)`) with its own
    port; stop() is SIGTERM then SIGKILL."""

    bootstrap: str
    prefix: str = field(default_factory=lambda: unique("t"))
    app_id: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    command: tuple[str, ...] = ("worker",)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.prefix)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "BUSBAR_KAFKA_BOOTSTRAP": self.bootstrap,
            "BUSBAR_TOPIC_PREFIX": self.prefix,
            "BUSBAR_APP_ID": self.app_id or self.prefix,
            "BUSBAR_PORT": str(self.port),
            "BUSBAR_LOG_LEVEL": "warning",
        })
        env.update(self.extra_env)
        return env

    def settings(self) -> Settings:
        return Settings.from_env(self.env())

    def start(self, log_dir: Path, timeout: float = 60.0,
              until: Callable[[int, dict[str, Any]], None] | None = None) -> WorkerProcess:
        """Start the worker and wait until /health says 200; `until` sees every answer before."""
        # unique: API processes may share a port
        self.log_path = log_dir / f"{unique(f'{self.command[0]}-{self.port}')}.log"
        env = {"BUSBAR_DATA_DIR": str(log_dir / f"data-{unique(self.command[0])}"), **self.env()}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "streams", *self.command], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}: {self.log_tail()}")
            status, body = health(self.url)
            if status == 200:
                return self
            if until is not None and status:
                until(status, body)
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker not healthy within {timeout}s: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """kill -9: what a crash looks like to Kafka."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> None:
        stop_process(self.process, timeout)


@contextmanager
def running(worker: WorkerProcess, log_dir: Path) -> Iterator[WorkerProcess]:
    """A started worker, stopped on the way out whatever happened."""
    worker.start(log_dir)
    try:
        yield worker
    finally:
        worker.stop()


@contextmanager
def credentialed(bootstrap: str, log_dir: Path, key_id: str, secret: str) -> Iterator[WorkerProcess]:
    """A started worker that accepts only requests SigV4-signed with this key."""
    with running(WorkerProcess(bootstrap, extra_env={"BUSBAR_ACCESS_KEY_ID": key_id,
                                                     "BUSBAR_SECRET_ACCESS_KEY": secret}), log_dir) as worker:
        yield worker


@contextmanager
def embedded_broker(data_dir: Path) -> Iterator[EmbeddedKafka]:
    """A single-node embedded broker on free ports, stopped on the way out."""
    lib = Settings.from_env().kafka_lib
    fetch_jars(lib)
    port, controller_port = free_ports(2)
    broker = EmbeddedKafka(data_dir, port, lib, controller_port=controller_port)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
