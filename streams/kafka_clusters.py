"""The Kafka clusters a worker may deliver to besides its own, as BUSBAR_CLUSTERS names them.

Targets name a cluster in their Kafka topic ARN (`topic/<cluster>/<topic>`); `local` is the
cluster the worker runs on. Read here once for the router, the delivery service and the
connectors alike, so a typo fails the worker at start.
"""

from __future__ import annotations

from streams.arns import LOCAL_CLUSTER


def parse_clusters(spec: str) -> dict[str, str]:
    """`name=bootstrap;...` as a dict; ValueError naming the malformed entry."""
    clusters: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        name, sep, bootstrap = entry.partition("=")
        name, bootstrap = name.strip(), bootstrap.strip()
        if not sep or not name or not bootstrap:
            raise ValueError(f"BUSBAR_CLUSTERS entry {entry!r} is not name=host:port[,host:port]")
        if name == LOCAL_CLUSTER:
            raise ValueError(f"BUSBAR_CLUSTERS may not redefine {LOCAL_CLUSTER!r}, the worker's own cluster")
        clusters[name] = bootstrap
    return clusters
