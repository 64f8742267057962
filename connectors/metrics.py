"""Per-connector series on the worker's /metrics, beside the router's (same registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from streams.metrics import REGISTRY

RECORDS_IN = Counter("busbar_connector_records_in", "Records a connector received (webhook requests, mirrored "
                     "bus records read).", ["connector"], registry=REGISTRY)
RECORDS_OUT = Counter("busbar_connector_records_out", "Events a connector wrote and Kafka acknowledged.",
                      ["connector"], registry=REGISTRY)
REJECTED = Counter("busbar_connector_rejected", "Records a connector refused or skipped, by reason (signature, "
                   "missing_signature, stale, oversized, invalid, duplicate, paused, kafka, loop, filtered).",
                   ["connector", "reason"], registry=REGISTRY)
MIRROR_LAG = Gauge("busbar_connector_mirror_lag", "Records on the source bus a mirror task has not forwarded yet.",
                   ["connector", "task"], registry=REGISTRY)
