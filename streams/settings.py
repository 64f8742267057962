"""Configuration shared by every busbar process.

Every setting has one environment variable (``BUSBAR_*``) so that workers started by
``busbar up``, by a process manager or by a container read the same values; command-line
flags override the environment by writing into it before the worker starts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    "kafka_bootstrap": Setting(
        "BUSBAR_KAFKA_BOOTSTRAP", "", "Kafka bootstrap servers (host:port,...). Empty: start the embedded broker."
    ),
    "topic_prefix": Setting("BUSBAR_TOPIC_PREFIX", "busbar", "Prefix of every topic busbar creates."),
    "region": Setting("BUSBAR_REGION", "us-east-1", "Region written into events and ARNs."),
    "account": Setting("BUSBAR_ACCOUNT_ID", "000000000000", "Account id written into events and ARNs."),
    "host": Setting("BUSBAR_HOST", "127.0.0.1", "Address the worker's HTTP API listens on."),
    "port": Setting("BUSBAR_PORT", "4010", "Port of the worker's HTTP API (EventBridge API, /health, /metrics)."),
    "worker_api": Setting(
        "BUSBAR_WORKER_API", "1",
        "0: the worker does not serve the EventBridge API on its port (API processes, `busbar api`, do); "
        "/health, /metrics and the connectors' routes stay.",
    ),
    "broker_port": Setting("BUSBAR_BROKER_PORT", "19092", "Port of the embedded Kafka broker (its controller takes the next one)."),
    "data_dir": Setting("BUSBAR_DATA_DIR", ".busbar", "Where the embedded broker keeps its data and logs."),
    "app_id": Setting("BUSBAR_APP_ID", "busbar", "Faust app id = Kafka consumer group of the workers."),
    "partitions": Setting("BUSBAR_PARTITIONS", "4", "Partitions of the topics busbar creates."),
    "replication": Setting("BUSBAR_REPLICATION", "1", "Replication factor of the topics busbar creates."),
    "log_level": Setting("BUSBAR_LOG_LEVEL", "warning", "Worker log level (debug, info, warning, error)."),
    "kafka_lib": Setting(
        "BUSBAR_KAFKA_LIB", str(PROJECT_ROOT / "kafka" / "lib"), "Directory of the embedded broker's jars."
    ),
    "clusters": Setting(
        "BUSBAR_CLUSTERS", "", "Other Kafka clusters targets may name: name=host:port,...;name2=host:port (local = this one)."
    ),
    "router_linger_ms": Setting(
        "BUSBAR_ROUTER_LINGER_MS", "20",
        "How long the router's producer gathers target records into a batch (latency vs. broker load).",
    ),
    "group_protocol": Setting(
        "BUSBAR_GROUP_PROTOCOL", "consumer",
        "Consumer group protocol of the routers: consumer (Kafka 4's, KIP-848: every bus's partitions spread over "
        "the workers, rebalances never stop the group) or classic (brokers before Kafka 4.0).",
    ),
    "instance_id": Setting(
        "BUSBAR_INSTANCE_ID", "",
        "Stable identity of this worker in its group (static membership, with BUSBAR_GROUP_PROTOCOL=classic): a "
        "worker restarted with the same id takes its partitions back at once; one that stops for good keeps them "
        "until the session times out.",
    ),
    "max_targets_per_rule": Setting("BUSBAR_MAX_TARGETS_PER_RULE", "5", "Targets one rule may have (AWS: 5)."),
    "max_rules_per_bus": Setting("BUSBAR_MAX_RULES_PER_BUS", "300", "Rules one event bus may have (AWS: 300)."),
    "write_timeout_s": Setting(
        "BUSBAR_WRITE_TIMEOUT_S", "50",
        "How long PutEvents and config writes wait for Kafka to confirm a write; past it the answer says the "
        "outcome is unknown. Keep it below clients' read timeout (botocore, AWS CLI: 60 s).",
    ),
    "schedule_catchup_s": Setting(
        "BUSBAR_SCHEDULE_CATCHUP_S", "3600",
        "Scheduled times missed while no worker could fire them (all down, a takeover) fire late, once, if at most "
        "this many seconds late; older ones are skipped and counted (busbar_scheduler_skipped).",
    ),
    "schedule_clock": Setting(
        "BUSBAR_SCHEDULE_CLOCK", "",
        "For tests and benchmarks only: VIRTUAL_START,REAL_START,SPEED makes schedules fire on a clock that showed "
        "VIRTUAL_START (ISO 8601) at REAL_START (epoch seconds) and runs SPEED times fast. Empty: the system clock.",
    ),
    "secret_key": Setting(
        "BUSBAR_SECRET_KEY", "",
        "Fernet key(s) that encrypt connection secrets in the config topic, comma-separated (the first encrypts, "
        "each decrypts, for rotation). Without one, connections cannot be created.",
    ),
    "allow_private_destinations": Setting(
        "BUSBAR_ALLOW_PRIVATE_DESTINATIONS", "0",
        "1: API destinations may reach loopback, private and link-local addresses and plain http:// "
        "(cloud metadata addresses stay refused).",
    ),
    "delivery_timeout_s": Setting(
        "BUSBAR_DELIVERY_TIMEOUT_S", "5", "Seconds an API destination has to answer one request (EventBridge: 5)."
    ),
    "max_request_bytes": Setting(
        "BUSBAR_MAX_REQUEST_BYTES", "1048576", "Largest API request body accepted; larger ones get HTTP 413."
    ),
}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str
    topic_prefix: str
    region: str
    account: str
    host: str
    port: int
    worker_api: bool
    broker_port: int
    data_dir: Path
    app_id: str
    partitions: int
    replication: int
    log_level: str
    kafka_lib: Path
    clusters: str
    router_linger_ms: int
    group_protocol: str
    instance_id: str
    max_targets_per_rule: int
    max_rules_per_bus: int
    max_request_bytes: int
    write_timeout_s: int
    schedule_catchup_s: int
    schedule_clock: str
    secret_key: str = field(repr=False)
    allow_private_destinations: bool
    delivery_timeout_s: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            spec = SETTINGS[f.name]
            raw = env.get(spec.env, "") or spec.default
            if f.type == "int":
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ValueError(f"{spec.env}={raw!r} is not an integer") from None
            elif f.type == "float":
                try:
                    values[f.name] = float(raw)
                except ValueError:
                    raise ValueError(f"{spec.env}={raw!r} is not a number") from None
            elif f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes")
            elif f.type == "Path":
                values[f.name] = Path(raw)
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]

    @property
    def embedded(self) -> bool:
        """No bootstrap servers configured means busbar runs its own broker."""
        return not self.kafka_bootstrap
