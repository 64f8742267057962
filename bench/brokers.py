"""The Kafka a benchmark measures on: the cluster given with --kafka, or an embedded broker
started for the run and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streams.embedded_kafka import EmbeddedKafka, free_ports
from streams.settings import Settings


@contextmanager
def kafka(bootstrap: str | None, work: Path, partitions: int = 4) -> Iterator[str]:
    """Bootstrap servers: `bootstrap` as given, else an embedded broker's in `work`."""
    if bootstrap:
        yield bootstrap
        return
    port, controller_port = free_ports(2)
    broker = EmbeddedKafka(work / "kafka", port, Settings.from_env().kafka_lib, controller_port=controller_port,
                           partitions=partitions)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
