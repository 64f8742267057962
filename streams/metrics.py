"""The worker's Prometheus metrics, served at GET /metrics.

They live in a registry of their own (not the process-wide default) so that only busbar's
series are exported and importing this module twice in one process, as tests may, cannot
register a name twice. Writers update them once per batch, not per event. The router's
per-rule and per-target totals are TallyCounters: with 1,000 rules a batch touches about a
thousand series, and prometheus-client's Counter.inc (a lock and checks, ~1 us each) cost
the router thread 8% of its time there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4



class TallyCounter(Collector):
    """A labelled counter kept as a plain dict of totals, exported when scraped.

    Only one thread (the router's) adds, so adding needs no lock: it is one dict update.
    A scrape copies the dict first (one C call under the GIL, so it never sees a half-made
    change) and exports the copy.
    """

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry) -> None:
        self._name, self._documentation, self._labelnames = name, documentation, list(labelnames)
        self._totals: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def add(self, labels: tuple[str, ...], amount: float) -> None:
        totals = self._totals
        totals[labels] = totals.get(labels, 0) + amount

    def remove(self, *labels: str) -> None:
        self._totals.pop(labels, None)

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for labels, total in self._totals.copy().items():
            family.add_metric(labels, total)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)


EVENTS_IN = TallyCounter("busbar_router_events_in", "Records read from a bus topic.", ["bus"], REGISTRY)
RULE_MATCHES = TallyCounter("busbar_router_rule_matches", "Events an enabled rule matched.", ["bus", "rule"],
                            REGISTRY)
TARGET_DELIVERIES = TallyCounter("busbar_router_target_deliveries", "Records a target's destination acknowledged.",
                                 ["bus", "rule", "target"], REGISTRY)
TARGET_FAILURES = TallyCounter("busbar_router_target_failures",
                               "Events a target could not take after its retries (sent to a dead-letter queue).",
                               ["bus", "rule", "target"], REGISTRY)
TARGET_RETRIES = Counter("busbar_router_target_retries", "Produce attempts repeated after a failure.",
                         ["bus", "rule", "target"], registry=REGISTRY)
DEAD_LETTERS = Counter("busbar_router_dead_letters", "Records written to a dead-letter queue, by bus and kind of reason.",
                       ["bus", "reason"], registry=REGISTRY)
CONSUMER_LAG = Gauge("busbar_router_consumer_lag", "Records on a bus partition not yet consumed by this worker.",
                     ["topic", "partition"], registry=REGISTRY)
CORRELATION_LATE = Counter("busbar_correlation_late_events",
                           "Events that came later than a correlation rule's lateness allows, not counted.",
                           ["bus", "rule"], registry=REGISTRY)
CORRELATION_EMITTED = Counter("busbar_correlation_emitted", "Events a correlation rule derived (it fired).",
                              ["bus", "rule"], registry=REGISTRY)
CORRELATION_WINDOWS = Gauge("busbar_correlation_windows",
                            "Correlation windows held by this worker, by partition of the correlation topic.",
                            ["partition"], registry=REGISTRY)

SCHEDULE_FIRINGS = Counter("busbar_scheduler_firings", "Scheduled times fired (committed with their state).",
                           ["kind"], registry=REGISTRY)
SCHEDULE_SKIPPED = Counter("busbar_scheduler_skipped",
                           "Scheduled times not fired: missed by more than the catch-up window.", registry=REGISTRY)
SCHEDULE_FAILURES = Counter("busbar_scheduler_failures",
                            "Firings whose target could not take them (dead-lettered when the schedule has a DLQ).",
                            ["kind"], registry=REGISTRY)
SCHEDULE_PARTITIONS = Gauge("busbar_scheduler_partitions", "Schedule-state partitions this worker owns and fires.",
                            registry=REGISTRY)


def render() -> bytes:
    """The exposition text (format 0.0.4, which every Prometheus scraper reads)."""
    return generate_latest(REGISTRY)

# --- HTTP delivery (streams/delivery), updated per request: HTTP costs far more than a counter ---
DELIVERY_REQUESTS = Counter("busbar_delivery_requests",
                            "Delivery attempts (HTTP requests, Kafka writes), by destination and outcome.",
                            ["destination", "outcome"], registry=REGISTRY)
DELIVERY_FAILURES = Counter("busbar_delivery_failures", "Failed delivery attempts, by reason.",
                            ["destination", "reason"], registry=REGISTRY)
DELIVERY_RETRIES_PARKED = Counter("busbar_delivery_retries_parked", "Deliveries parked in a retry topic.",
                                  ["tier"], registry=REGISTRY)
DELIVERY_RETRIES_WAITING = Gauge("busbar_delivery_retries_waiting",
                                 "Retry-topic partitions held until their next record is due.",
                                 registry=REGISTRY)
DELIVERY_RETRIES_DUE = Counter("busbar_delivery_retries_due", "Parked deliveries taken up again when due.",
                               registry=REGISTRY)
DELIVERY_DEAD_LETTERS = Counter("busbar_delivery_dead_letters", "Deliveries given up and dead-lettered.",
                                ["destination"], registry=REGISTRY)
DELIVERY_LATENCY = Histogram("busbar_delivery_endpoint_seconds", "How long API destinations took to answer.",
                             ["destination"], registry=REGISTRY,
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DELIVERY_RATE_WAITS = Counter("busbar_delivery_rate_limit_waits",
                              "Requests that waited for their destination's rate limit.", ["destination"],
                              registry=REGISTRY)
DELIVERY_RATE_WAIT_SECONDS = Counter("busbar_delivery_rate_limit_wait_seconds",
                                     "Time requests waited for their destination's rate limit.", ["destination"],
                                     registry=REGISTRY)

# --- functions (streams/functions), updated per invocation: running a handler costs far more ---
FUNCTION_INVOCATIONS = Counter("busbar_function_invocations", "Handler invocations started, retries included.",
                               ["function"], registry=REGISTRY)
FUNCTION_ERRORS = Counter("busbar_function_errors", "Invocations that failed (an exception or a timeout).",
                          ["function", "error_type"], registry=REGISTRY)
FUNCTION_DURATION = Histogram("busbar_function_duration_seconds", "How long handlers ran (a timeout counts in full).",
                              ["function"], registry=REGISTRY,
                              buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900))
FUNCTION_THROTTLES = Counter("busbar_function_throttles",
                             "Invocations that waited because the function was at its MaxConcurrency.",
                             ["function"], registry=REGISTRY)
FUNCTION_DEAD_LETTERS = Counter("busbar_function_dead_letters", "Invocations given up and dead-lettered.",
                                ["function"], registry=REGISTRY)
