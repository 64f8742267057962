"""The configuration model (buses, rules with their targets, and what later features add).

Every record lives in the compacted config topic under a key of the form `<kind>/<id...>`,
its value the resource as EventBridge's API shapes it (JSON), a tombstone deleting it. The
model is a plain in-memory map of those records with typed accessors; it knows nothing of
Kafka, so that the API, the router and the tests share one picture of the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_BUS = "default"
DEFAULT_SCHEDULE_GROUP = "default"
# What a rule record holds besides its identity, targets and tags: the API stores and shows these,
# and `busbar apply` compares them, so both read them from here.
RULE_FIELDS = ("EventPattern", "ScheduleExpression", "State", "Description", "RoleArn")

Record = dict[str, Any]


def bus_key(bus: str) -> str:
    return f"bus/{bus}"


def rule_key(bus: str, rule: str) -> str:
    return f"rule/{bus}/{rule}"


def schedule_key(group: str, name: str) -> str:
    return f"schedule/{group}/{name}"


def schedule_group_key(group: str) -> str:
    return f"schedule-group/{group}"


def connector_key(name: str) -> str:
    """A Kafka Connect-style connector: {"name", "config", "state": RUNNING|PAUSED, "generation"}."""
    return f"connector/{name}"

def archive_key(name: str) -> str:
    return f"archive/{name}"


def replay_key(name: str) -> str:
    """The replay as StartReplay asked for it (and CancelReplay marked it); written by the API only."""
    return f"replay/{name}"


def replay_progress_key(name: str) -> str:
    """How far the replay has got; written only by the worker running it, so the two writers
    of a replay's state never overwrite each other."""
    return f"replay-progress/{name}"

def correlation_key(bus: str, name: str) -> str:
    return f"correlation/{bus}/{name}"

def connection_key(name: str) -> str:
    return f"connection/{name}"


def api_destination_key(name: str) -> str:
    return f"api-destination/{name}"


def function_key(name: str) -> str:
    """A function (a Python handler run by the workers), as streams/function_definition.py stores it."""
    return f"function/{name}"


def encode_record(record: Record | None) -> bytes | None:
    return None if record is None else orjson.dumps(record)


def decode_record(value: bytes | None) -> Record | None:
    """None for a tombstone; ValueError for anything that is not a JSON object."""
    if value is None:
        return None
    record = orjson.loads(value)
    if not isinstance(record, dict):
        raise ValueError(f"config record is a JSON {type(record).__name__}, not an object")
    return record


@dataclass(frozen=True)
class Change:
    key: str
    old: Record | None
    new: Record | None

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]


class Model:
    """All configuration records by key. The default bus always exists, stored or not."""

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}

    def apply(self, key: str, record: Record | None) -> Change | None:
        """Install one record (None deletes); returns what changed, or None if nothing did."""
        old = self._records.get(key)
        if record is None:
            if old is None:
                return None
            del self._records[key]
        else:
            if old == record:
                return None
            self._records[key] = record
        return Change(key, old, record)

    def get(self, key: str) -> Record | None:
        return self._records.get(key)

    def items(self) -> list[tuple[str, Record]]:
        """Every record with its key, as a list (a snapshot, safe to hold while the model changes)."""
        return list(self._records.items())

    def with_prefix(self, prefix: str) -> Iterator[tuple[str, Record]]:
        for key, record in self._records.items():
            if key.startswith(prefix):
                yield key, record

    # --- buses -----------------------------------------------------------------------------
    def bus(self, name: str) -> Record | None:
        record = self._records.get(bus_key(name))
        if record is None and name == DEFAULT_BUS:
            return {"Name": DEFAULT_BUS}
        return record

    def bus_names(self) -> list[str]:
        names = {key.split("/", 1)[1] for key, _ in self.with_prefix("bus/")}
        names.add(DEFAULT_BUS)
        return sorted(names)

    # --- rules -----------------------------------------------------------------------------
    def rule(self, bus: str, name: str) -> Record | None:
        return self._records.get(rule_key(bus, name))

    def rules(self, bus: str | None = None) -> list[Record]:
        """Rules of one bus (or of all), sorted by name as ListRules returns them."""
        prefix = "rule/" if bus is None else f"rule/{bus}/"
        return sorted((r for _, r in self.with_prefix(prefix)), key=lambda r: (r.get("EventBusName", ""), r["Name"]))

    # --- EventBridge Scheduler: schedules and their groups --------------------------------------
    def schedule_group(self, name: str) -> Record | None:
        """Like the default bus, Scheduler's default group exists without being created."""
        record = self._records.get(schedule_group_key(name))
        if record is None and name == DEFAULT_SCHEDULE_GROUP:
            return {"Name": DEFAULT_SCHEDULE_GROUP}
        return record

    def schedule_groups(self) -> list[Record]:
        groups = {record["Name"]: record for _, record in self.with_prefix("schedule-group/")}
        groups.setdefault(DEFAULT_SCHEDULE_GROUP, {"Name": DEFAULT_SCHEDULE_GROUP})
        return [groups[name] for name in sorted(groups)]

    def schedule(self, group: str, name: str) -> Record | None:
        return self._records.get(schedule_key(group, name))

    def schedules(self, group: str | None = None) -> list[Record]:
        """Schedules of one group (or of all), ordered by their key."""
        prefix = "schedule/" if group is None else f"schedule/{group}/"
        return [record for _, record in sorted(self.with_prefix(prefix), key=lambda item: item[0])]

    # --- connectors ------------------------------------------------------------------------
    def connector(self, name: str) -> Record | None:
        return self._records.get(connector_key(name))

    def connectors(self) -> list[Record]:
        """Every connector, ordered by name."""
        return sorted((record for _, record in self.with_prefix("connector/")), key=lambda r: r["name"])
    # --- archives and replays ----------------------------------------------------------------
    def archive(self, name: str) -> Record | None:
        return self._records.get(archive_key(name))

    def archives(self) -> list[Record]:
        return [record for _, record in sorted(self.with_prefix("archive/"), key=lambda item: item[0])]

    def replay(self, name: str) -> Record | None:
        return self._records.get(replay_key(name))

    def replays(self) -> list[Record]:
        return [record for _, record in sorted(self.with_prefix("replay/"), key=lambda item: item[0])]

    def replay_progress(self, name: str) -> Record | None:
        return self._records.get(replay_progress_key(name))
    # --- correlation rules (busbar's own: counts and sequences of events over time) ---------------
    def correlation(self, bus: str, name: str) -> Record | None:
        return self._records.get(correlation_key(bus, name))

    def correlations(self, bus: str | None = None) -> list[Record]:
        """Correlation rules of one bus (or of all), ordered by bus and name."""
        prefix = "correlation/" if bus is None else f"correlation/{bus}/"
        return [record for _, record in sorted(self.with_prefix(prefix), key=lambda item: item[0])]
    # --- connections and API destinations (HTTP targets) ---------------------------------------
    def connection(self, name: str) -> Record | None:
        return self._records.get(connection_key(name))

    def connections(self) -> list[Record]:
        return sorted((r for _, r in self.with_prefix("connection/")), key=lambda r: r["Name"])

    def api_destination(self, name: str) -> Record | None:
        return self._records.get(api_destination_key(name))

    def api_destinations(self) -> list[Record]:
        return sorted((r for _, r in self.with_prefix("api-destination/")), key=lambda r: r["Name"])

    # --- functions ----------------------------------------------------------------------------
    def function(self, name: str) -> Record | None:
        return self._records.get(function_key(name))

    def functions(self) -> list[Record]:
        return sorted((r for _, r in self.with_prefix("function/")), key=lambda r: r["FunctionName"])

    def __len__(self) -> int:
        return len(self._records)
