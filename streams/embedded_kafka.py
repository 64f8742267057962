"""Genuine Apache Kafka (KRaft, one node) on loopback, for local use and for the tests.

The broker users run in production is the one busbar runs locally, so that tests exercise
the real protocol. Its jars come from Maven Central through `mvn` and the pom in
``kafka/pom.xml``; they are fetched once into ``kafka/lib``.
"""

from __future__ import annotations

import base64
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from streams.settings import PROJECT_ROOT

POM = PROJECT_ROOT / "kafka" / "pom.xml"
FETCHED_MARKER = ".fetched"
JVM_OPTS = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true"]
STOP_TIMEOUT_S = 8.0


def cluster_id() -> str:
    """A random cluster id as Kafka writes them; never starting with "-", which the storage
    tool's argument parser would read as an option (Kafka's own Uuid.randomUuid avoids it too)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class EmbeddedKafkaError(RuntimeError):
    """A problem the user can fix (missing tool, busy port); printed as one line, no traceback."""


def _find(tool: str, home_var: str) -> str | None:
    home = os.environ.get(home_var)
    if home and (Path(home) / "bin" / tool).is_file():
        return str(Path(home) / "bin" / tool)
    return shutil.which(tool)


def java_binary() -> str:
    """A Java 17+ runtime, as Kafka 4 requires."""
    java = _find("java", "JAVA_HOME")
    hint = "install a JDK 17+ (e.g. `apt-get install openjdk-17-jre-headless`) or use --kafka BOOTSTRAP"
    if java is None:
        raise EmbeddedKafkaError(f"Java not found: {hint}")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    if not match or int(match.group(1)) < 17:
        raise EmbeddedKafkaError(f"{java} is not Java 17+ ({out.splitlines()[0] if out else 'no version'}): {hint}")
    return java


def fetch_jars(lib_dir: Path, *, quiet: bool = False) -> None:
    """Copy the pinned broker's runtime jars into lib_dir (Maven caches them in ~/.m2 too)."""
    if (lib_dir / FETCHED_MARKER).exists():
        return
    mvn = _find("mvn", "MAVEN_HOME")
    if mvn is None:
        raise EmbeddedKafkaError(
            "Maven not found: install it (e.g. `apt-get install maven`) to fetch the Kafka jars, or use --kafka BOOTSTRAP"
        )
    if not quiet:
        print(f"fetching Apache Kafka jars with Maven into {lib_dir} (once) ...", flush=True)
    cmd = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
           f"-DoutputDirectory={lib_dir.resolve()}", "-DincludeScope=runtime"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise EmbeddedKafkaError("mvn could not fetch the Kafka jars: " + " | ".join(tail))
    (lib_dir / FETCHED_MARKER).touch()


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections there (a connect, never a bind, so no race with the owner)."""
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


def free_ports(count: int) -> list[int]:
    """Distinct free ports: all sockets stay bound until every port is chosen, so none repeats."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel sends SIGTERM when busbar dies, even by kill -9."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def spawn(cmd: list[str], **kwargs: object) -> subprocess.Popen:
    """Start a child in its own session that cannot outlive busbar."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)  # noqa: PLW1509


def stop_process(proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM for a clean shutdown, SIGKILL if it has not exited by the deadline."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class EmbeddedKafka:
    """One KRaft node (broker and controller) whose data survives restarts in data_dir."""

    def __init__(self, data_dir: Path, port: int, lib_dir: Path, controller_port: int | None = None,
                 partitions: int = 4) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port or port + 1
        self.lib_dir = Path(lib_dir)
        self.partitions = partitions
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    def _properties(self) -> str:
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.data_dir / 'kraft'}",
            f"num.partitions={self.partitions}",
            "default.replication.factor=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # The routers' group protocol (KIP-848) takes its timing from the broker: a killed
            # worker's partitions move after 10 s rather than 45 s, heartbeats every second.
            "group.consumer.session.timeout.ms=10000",
            "group.consumer.min.session.timeout.ms=6000",
            "group.consumer.heartbeat.interval.ms=1000",
            "group.consumer.min.heartbeat.interval.ms=1000",
            "auto.create.topics.enable=true",
            "log.retention.hours=168",
            "",
        ])

    def _classpath(self) -> str:
        if not any(self.lib_dir.glob("kafka_2.13-*.jar")):
            raise EmbeddedKafkaError(
                f"Kafka jars not found in {self.lib_dir}: run `busbar fetch-kafka` (or `make up`), or use --kafka BOOTSTRAP"
            )
        return f"{self.lib_dir}/*"

    def start(self, timeout: float = 60.0) -> None:
        for p in (self.port, self.controller_port):
            if not port_free(p):
                raise EmbeddedKafkaError(f"port {p} is already in use: pick another with --broker-port")
        java = java_binary()
        classpath = self._classpath()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._properties())
        if not (self.data_dir / "kraft" / "meta.properties").exists():
            cid = cluster_id()
            fmt = subprocess.run(
                [java, *JVM_OPTS[:2], "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(config)],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                raise EmbeddedKafkaError(f"formatting {self.data_dir} failed: {fmt.stdout.strip()} {fmt.stderr.strip()}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.process = spawn([java, *JVM_OPTS, "-cp", classpath, "kafka.Kafka", str(config)],
                             stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Wait for the listener, then for a metadata answer that lists this broker."""
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise EmbeddedKafkaError(f"the Kafka broker exited with {self.process.returncode}; see {self.log_path}")
            if admin is None:
                if not port_open(self.port):
                    time.sleep(0.2)
                    continue
                admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
            try:
                if admin.list_topics(timeout=1.0).brokers:
                    return
            except Exception:  # noqa: BLE001 - not up yet; keep polling until the deadline
                time.sleep(0.2)
        self.stop()
        raise EmbeddedKafkaError(f"the Kafka broker did not answer within {timeout:.0f}s; see {self.log_path}")

    def stop(self) -> None:
        """A clean stop lets the next start skip log recovery."""
        proc, self.process = self.process, None
        stop_process(proc, STOP_TIMEOUT_S)

    def __enter__(self) -> EmbeddedKafka:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
