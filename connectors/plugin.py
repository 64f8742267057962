"""What a connector class is, and what a worker gives it to run with.

A connector class names its config keys (`CONFIG`, checked by `validate`) and says how many
tasks it runs and what each does. Its instances exist on every worker (a webhook can be
posted to any of them); its tasks run only on the worker that owns them (connectors/assignment.py).
Everything a connector may touch comes in `Environment`: Kafka addresses, topic names, a
publisher for bus topics and the worker's identity; nothing reaches into the router or the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from connectors.definitions import COMMON, Field, parse_config
from streams.topics import TopicNames


class EventPublisher(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Returns once Kafka has acknowledged the record (acks=all); raises if it did not."""


class SeenIds(Protocol):
    def seen(self, connector: str, event_id: str) -> bool: ...

    async def remember(self, connector: str, event_id: str) -> None: ...


@dataclass(frozen=True)
class Environment:
    bootstrap: str
    topics: TopicNames
    region: str
    account: str
    worker_id: str  # host:port, as Kafka Connect names workers
    app_id: str
    clusters: Mapping[str, str]  # BUSBAR_CLUSTERS: name -> bootstrap
    group_config: Mapping[str, Any]  # the consumer group protocol settings workers use
    publisher: EventPublisher
    seen_ids: SeenIds
    bus_exists: Callable[[str], bool]  # whether the configuration holds a bus of that name


def missing_bus(values: Mapping[str, Any], env: Environment) -> list[tuple[str, str]]:
    """The `bus` key's error when it names a bus the configuration does not hold."""
    bus = values.get("bus")
    return [("bus", f"Event bus {bus} does not exist.")] if bus and not env.bus_exists(bus) else []


class Task(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class IdleTask:
    """The task of a connector whose work arrives by HTTP on any worker: it holds the
    connector's place (and status) in the group and does nothing itself."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Connector:
    TYPE: ClassVar[str] = "source"
    VERSION: ClassVar[str] = "0.1.0"
    CONFIG: ClassVar[tuple[Field, ...]] = ()

    def __init__(self, name: str, values: dict[str, Any], env: Environment) -> None:
        self.name = name
        self.values = values
        self.env = env

    @classmethod
    def fields(cls) -> tuple[Field, ...]:
        return COMMON + cls.CONFIG

    @classmethod
    def validate(cls, config: Mapping[str, Any], env: Environment) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """(parsed values, errors by key): each key checked alone, then what needs several."""
        values, errors = parse_config(cls.fields(), config)
        for key, message in cls.check(values, env):
            errors.setdefault(key, []).append(message)
        return values, errors

    @classmethod
    def check(cls, values: Mapping[str, Any], env: Environment) -> Sequence[tuple[str, str]]:
        """(key, error) pairs a subclass finds beyond each key's own type and range."""
        return ()

    def task_count(self) -> int:
        return 1

    def task(self, index: int) -> Task:
        return IdleTask()
