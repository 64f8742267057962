"""The worker's Prometheus metrics, served at GET /metrics.

They live in a registry of their own (not the process-wide default) so that only busbar's
series are exported and importing this module twice in one process, as tests may, cannot
register a name twice. Writers update them once per batch, not per event: a labelled
counter increment costs a lock and a dict lookup, which the router's hot path cannot afford
tens of thousands of times a second.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

EVENTS_IN = Counter("busbar_router_events_in", "Records read from a bus topic.", ["bus"], registry=REGISTRY)
RULE_MATCHES = Counter("busbar_router_rule_matches", "Events an enabled rule matched.", ["bus", "rule"],
                       registry=REGISTRY)
TARGET_DELIVERIES = Counter("busbar_router_target_deliveries", "Records a target's destination acknowledged.",
                            ["bus", "rule", "target"], registry=REGISTRY)
TARGET_FAILURES = Counter("busbar_router_target_failures",
                          "Events a target could not take after its retries (sent to a dead-letter queue).",
                          ["bus", "rule", "target"], registry=REGISTRY)
TARGET_RETRIES = Counter("busbar_router_target_retries", "Produce attempts repeated after a failure.",
                         ["bus", "rule", "target"], registry=REGISTRY)
DEAD_LETTERS = Counter("busbar_router_dead_letters", "Records written to a dead-letter queue, by bus and kind of reason.",
                       ["bus", "reason"], registry=REGISTRY)
CONSUMER_LAG = Gauge("busbar_router_consumer_lag", "Records on a bus partition not yet consumed by this worker.",
                     ["topic", "partition"], registry=REGISTRY)


def render() -> bytes:
    """The exposition text (format 0.0.4, which every Prometheus scraper reads)."""
    return generate_latest(REGISTRY)
