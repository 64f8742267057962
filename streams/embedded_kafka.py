"""Genuine Apache Kafka (KRaft) on loopback, for local use and for the tests.

The broker users run in production is the one busbar runs locally, so that tests exercise
the real protocol. Its jars come from Maven Central through `mvn` and the pom in
``kafka/pom.xml``; they are fetched once into ``kafka/lib``.

`busbar up` runs one node. Tests of what replication promises (a broker dies, nothing is
lost) run an EmbeddedCluster: three nodes that each are broker and controller, every topic
kept on all three and written only when two have it, as production clusters are set up.
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
JVM_OPTS = ["-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true"]  # and -Xmx, per node
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
    """One KRaft node (broker and controller) whose data survives restarts in data_dir.

    Alone it is its own quorum and keeps one copy of each topic; as a member of an
    EmbeddedCluster it is given the quorum's voters, the cluster's id and the replication.
    """

    def __init__(self, data_dir: Path, port: int, lib_dir: Path, controller_port: int | None = None,
                 partitions: int = 4, *, node_id: int = 1, voters: str | None = None, replication: int = 1,
                 cluster: str | None = None, heap: str = "1g") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port or port + 1
        self.lib_dir = Path(lib_dir)
        self.partitions = partitions
        self.node_id = node_id
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"
        self.replication = replication
        self.cluster = cluster
        self.heap = heap
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    def _properties(self) -> str:
        replicas = self.replication
        min_isr = max(1, replicas - 1)  # a write is safe on all but one copy: one node may die
        return "\n".join([
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            f"controller.quorum.voters={self.voters}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.data_dir / 'kraft'}",
            f"num.partitions={self.partitions}",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={replicas}",
            "offsets.topic.num.partitions=4",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            "transaction.state.log.num.partitions=4",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
            # A dead node is fenced (and its partitions led elsewhere) after this long without a
            # heartbeat; 3 s rather than Kafka's 9 s, since on loopback a missed heartbeat means death.
            *(["broker.session.timeout.ms=3000", "broker.heartbeat.interval.ms=500"] if replicas > 1 else []),
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
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Format the data directory if new and start the JVM, without waiting for it: the
        members of a cluster must all be running before any of them can elect a controller."""
        for p in (self.port, self.controller_port):
            if not port_free(p):
                raise EmbeddedKafkaError(f"port {p} is already in use: pick another with --broker-port")
        java = java_binary()
        classpath = self._classpath()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._properties())
        if not (self.data_dir / "kraft" / "meta.properties").exists():
            cid = self.cluster or cluster_id()
            fmt = subprocess.run(
                [java, JVM_OPTS[0], f"-Xmx{self.heap}", "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cid, "-c", str(config)],
                capture_output=True, text=True,
            )
            if fmt.returncode != 0:
                raise EmbeddedKafkaError(f"formatting {self.data_dir} failed: {fmt.stdout.strip()} {fmt.stderr.strip()}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        self.process = spawn([java, *JVM_OPTS, f"-Xmx{self.heap}", "-cp", classpath, "kafka.Kafka", str(config)],
                             stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def wait_ready(self, timeout: float) -> None:
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


class EmbeddedCluster:
    """Several KRaft nodes on loopback, each broker and controller of one cluster.

    Every topic gets one copy per node (three by default) and takes a write once all but one
    copy have it (min.insync.replicas), so any single node can be killed without losing an
    acknowledged record or stopping writes: what a production cluster promises, to test
    against. Nodes take 512 MB of heap each so that three fit beside everything else.
    """

    def __init__(self, data_dir: Path, lib_dir: Path, size: int = 3, partitions: int = 4) -> None:
        ports = free_ports(2 * size)
        voters = ",".join(f"{i + 1}@127.0.0.1:{ports[size + i]}" for i in range(size))
        cid = cluster_id()
        self.nodes = [
            EmbeddedKafka(Path(data_dir) / f"node-{i + 1}", ports[i], lib_dir, ports[size + i], partitions,
                          node_id=i + 1, voters=voters, replication=size, cluster=cid, heap="512m")
            for i in range(size)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, node_id: int) -> EmbeddedKafka:
        return self.nodes[node_id - 1]

    def start(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        try:
            for node in self.nodes:
                node.launch()
            for node in self.nodes:
                node.wait_ready(max(1.0, deadline - time.monotonic()))
            self._wait_all_registered(deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_all_registered(self, deadline: float) -> None:
        """Topics created before every node has registered would get fewer replicas than nodes."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        while time.monotonic() < deadline:
            if len(admin.list_topics(timeout=5.0).brokers) == len(self.nodes):
                return
            time.sleep(0.2)
        raise EmbeddedKafkaError(f"not all {len(self.nodes)} nodes joined the cluster in time")

    def kill(self, node_id: int) -> None:
        """kill -9 one node: what a crashed machine looks like to the rest of the cluster."""
        node = self.node(node_id)
        proc, node.process = node.process, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """All nodes at once: stopped one by one, the last would wait for a quorum that has gone."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> EmbeddedCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
