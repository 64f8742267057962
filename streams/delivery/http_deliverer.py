"""API destinations as a kind of target: the job's payload as an HTTP request to the
destination's endpoint, with its connection's credentials and the target's HttpParameters.

It also keeps connections' authorization state as EventBridge does: OAuth connections are
authorized when created or updated (streams/delivery/authorizer.py), and a connection whose
credentials an endpoint refuses becomes DEAUTHORIZED.
"""

from __future__ import annotations

import asyncio

from streams.arns import TargetRef, parse_named_arn
from streams.config_service import ConfigService
from streams.delivery.authorizer import Authorizer
from streams.delivery.deliverer import Attempt, Undeliverable
from streams.delivery.retries import Outcome
from streams.delivery.sender import Sender
from streams.jobs import Job
from streams.secret_box import SecretBox
from streams.settings import Settings

DEFAULT_RATE_PER_S = 300.0


class HttpDeliverer:
    def __init__(self, settings: Settings, config: ConfigService) -> None:
        self._config = config
        self._write_timeout_s = settings.write_timeout_s
        self.sender = Sender(SecretBox(settings.secret_key), settings.allow_private_destinations,
                             settings.delivery_timeout_s)
        self.authorizer: Authorizer | None = None
        self._authorizing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.sender.start()
        self.authorizer = Authorizer(self._config, self.sender, self._write_timeout_s)
        self._config.subscribe(self.authorizer.on_change)
        self._authorizing = asyncio.ensure_future(self.authorizer.run())

    async def close(self) -> None:
        if self._authorizing is not None:
            self._authorizing.cancel()
        await self.sender.close()

    def prepare(self, job: Job, ref: TargetRef) -> Attempt:
        model = self._config.store.model
        destination = model.api_destination(ref.name)
        if destination is None:
            raise Undeliverable(f"API destination {ref.name} does not exist")
        try:
            connection_name, _ = parse_named_arn(str(destination.get("ConnectionArn")), "connection")
            connection = model.connection(connection_name)
        except ValueError:
            connection = None

        async def send() -> Outcome:
            outcome = await self.sender.attempt(job.payload, job.target, destination, connection)
            if outcome.deauthorizes and connection is not None and self.authorizer is not None:
                await self.authorizer.deauthorize(connection["Name"], connection.get("Secret", ""),
                                                  outcome.error)
            return outcome

        rate = float(destination.get("InvocationRateLimitPerSecond", DEFAULT_RATE_PER_S))
        return Attempt(ref.name, send, rate)
