"""The seam between the delivery service and the kinds of target it delivers to.

The service (streams/delivery/service.py) does what every kind needs alike: it takes jobs
from the deliveries topic and the retry topics, keeps each place in a lane of its own (a
bounded number of attempts in flight, an optional rate limit), checks the event's age, parks
retriable failures with backoff and dead-letters what is given up. A `Deliverer` does only
what is particular to its kind: it looks a job's target up (`prepare`) and makes one attempt
(`Attempt.send`), whose `Outcome` says whether it worked and whether trying again may help.

Adding a kind of target: write a Deliverer (any object with `start`, `close` and `prepare`)
in a module of its own under streams/delivery/, and register it in `DeliveryService.deliverers`
under the TargetRef kind its ARNs parse to (streams/arns.py `parse_target_arn`). Nothing else
changes: retries, dead letters, redrive, lanes and metrics come with the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from streams.arns import TargetRef
from streams.delivery.retries import Outcome
from streams.jobs import Job


class Undeliverable(Exception):
    """The job's target cannot be delivered to at all (it does not exist, say): no retry helps."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One attempt, prepared: where it goes and how to make it."""

    lane: str  # jobs to the same place share a lane (attempts in flight, rate limit) and metrics series
    send: Callable[[], Awaitable[Outcome]]  # never raises for a failed delivery: says so in its Outcome
    rate_per_s: float | None = None  # the place's limit for all workers together; None: none


class Deliverer(Protocol):
    """One kind of target. `start` and `close` bracket the service's life (clients, background tasks)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def prepare(self, job: Job, ref: TargetRef) -> Attempt:
        """The attempt for `job`, whose target ARN parsed to `ref`; Undeliverable with the reason."""
        ...
