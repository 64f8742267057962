"""Consumer group settings shared by the worker's group members (the router, the scheduler)."""

from __future__ import annotations

from typing import Any

from streams.settings import Settings

GROUP_PROTOCOLS: dict[str, dict[str, Any]] = {
    # Kafka 4's protocol (KIP-848): the broker assigns, incrementally (a join or a leave moves only
    # the partitions that change owner, nobody stops), and its range assignor spreads each bus
    # topic's partitions over the workers, so a hot bus is served by all of them. (The classic
    # cooperative-sticky assignor balanced partition counts by handing out whole topics: with two
    # buses and two workers, each bus went to one worker.) Session timeout and heartbeats are
    # the broker's settings here (group.consumer.*).
    "consumer": {"group.protocol": "consumer", "group.remote.assignor": "range"},
    # Brokers before 4.0: cooperative, so a bus added at run time stops no partition; a killed
    # worker's partitions move to the others after the session timeout, not the default 45 s.
    "classic": {"partition.assignment.strategy": "cooperative-sticky", "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000},
}


def group_config(settings: Settings, group_id: str) -> dict[str, Any]:
    """Membership settings of one of the worker's groups; ValueError naming a group protocol
    busbar does not know. A worker's static identity (BUSBAR_INSTANCE_ID) is the same in each."""
    protocol = GROUP_PROTOCOLS.get(settings.group_protocol)
    if protocol is None:
        raise ValueError(f"BUSBAR_GROUP_PROTOCOL={settings.group_protocol!r}: use {' or '.join(GROUP_PROTOCOLS)}")
    config = {"bootstrap.servers": settings.kafka_bootstrap, "group.id": group_id, **protocol}
    if settings.instance_id:
        if settings.group_protocol != "classic":
            # KIP-848 keeps a crashed static member's partitions until its session expires and
            # refuses its successor the same id meanwhile (a fatal error), so the id buys nothing there.
            raise ValueError("BUSBAR_INSTANCE_ID (static membership) needs BUSBAR_GROUP_PROTOCOL=classic")
        config["group.instance.id"] = settings.instance_id
    return config
