"""`busbar deliver`: the delivery service in processes of its own, beside the workers.

In a worker, the delivery service (HTTP requests, retries parked and taken back, the breaker)
runs on the event loop of the process whose router thread it shares one GIL with: an HTTP target
taking a tenth of the events cost the router half its throughput. A delivery process
(streams/side_process.py) runs the same service and nothing else. It joins the workers'
delivery consumer group, so the deliveries and retry topics' partitions are shared by every
process and worker delivering, and each one's share of a destination's rate limit is its share
of those partitions, as between workers. Workers started with BUSBAR_WORKER_DELIVERY=0 leave all
of it to these processes.
"""

from __future__ import annotations

from aiohttp import web

from streams.config_service import ConfigService
from streams.delivery.service import DeliveryService
from streams.secret_box import SecretBox
from streams.settings import Settings
from streams.side_process import run as run_side
from streams.subsystem import Subsystem
from streams.topics import TopicNames


def run(settings: Settings, processes: int) -> int:
    """Delivers until SIGTERM or SIGINT; with several processes, until one of them exits (then 1)."""
    try:
        SecretBox(settings.secret_key)  # the connections' secrets are decrypted here
    except ValueError as exc:
        raise SystemExit(f"busbar deliver: {exc}") from None
    return run_side(settings, "deliver", _build, processes)


def _build(settings: Settings, topics: TopicNames, config: ConfigService, router: web.UrlDispatcher) -> Subsystem:
    return DeliveryService(settings, config)
