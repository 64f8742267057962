"""Fixtures: a real Kafka broker for the session, and busbar workers against it.

The broker is, in order of preference: BUSBAR_KAFKA_BOOTSTRAP; the docker/ compose stack
through pytest-docker when BUSBAR_TEST_DOCKER=1 and a Docker engine answers; else the embedded
Apache Kafka broker, started once per session on free ports and stopped at the end. Tests
that kill a broker ask for `kafka_cluster`, three embedded brokers of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.embedded_kafka import EmbeddedCluster, fetch_jars, port_open
from streams.settings import Settings
from tests.support import DELIVERY_ENV, ROOT, WorkerProcess, embedded_broker, running


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(ROOT / "docker" / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return "busbar-test"


@pytest.fixture(scope="session")
def kafka_bootstrap(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("BUSBAR_KAFKA_BOOTSTRAP")
    if configured:
        yield configured
        return
    if os.environ.get("BUSBAR_TEST_DOCKER") == "1" and docker_engine_answers():
        services = request.getfixturevalue("docker_services")
        port = int(services.port_for("kafka", 9092))
        services.wait_until_responsive(check=lambda: port_open(port), timeout=90.0, pause=0.5)
        yield f"127.0.0.1:{port}"
        return
    with embedded_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker.bootstrap


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """Three embedded brokers that replicate every topic three ways (min.insync.replicas 2), for
    the tests that kill one. Started only for the modules that ask, and per module, since such a
    test leaves the cluster one broker short."""
    lib = Settings.from_env().kafka_lib
    fetch_jars(lib)
    with EmbeddedCluster(tmp_path_factory.mktemp("cluster"), lib) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def worker_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="session")
def busbar_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    """One worker shared by the API and router tests (each test uses its own buses and rules)."""
    worker = WorkerProcess(kafka_bootstrap).start(worker_logs)
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def own_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    """A worker for one test alone: it may be stopped, killed and restarted (same app id, so a
    restart finds its consumer groups and its tables' changelogs again)."""
    worker = WorkerProcess(kafka_bootstrap).start(worker_logs)
    try:
        yield worker
    finally:
        worker.stop()
@pytest.fixture(scope="module")
def delivery_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    """A worker that may deliver to API destinations on 127.0.0.1 (a secret key, private
    destinations allowed), one per module that asks."""
    with running(WorkerProcess(kafka_bootstrap, extra_env=DELIVERY_ENV), worker_logs) as process:
        yield process
