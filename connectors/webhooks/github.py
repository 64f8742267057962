"""GitHub webhooks: X-Hub-Signature-256 over the body; the event named by X-GitHub-Event.

Configure the GitHub webhook with content type application/json and the connector's
`webhook.secret`; each delivery becomes an event with source `github.com`, detail-type the
X-GitHub-Event header (push, pull_request, ...) and the payload as its detail. GitHub's
redeliveries carry the same X-GitHub-Delivery id and are published once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.webhooks import signatures
from connectors.webhooks.base import Delivery, Refused, WebhookConnector, header


class GitHubWebhook(WebhookConnector):
    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        signatures.github(self.secret, header(headers, "X-Hub-Signature-256"), body)

    def delivery(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> Delivery:
        kind = header(headers, "X-GitHub-Event")
        if kind is None:
            raise Refused(400, "invalid", "missing X-GitHub-Event header")
        return Delivery("github.com", kind, payload, header(headers, "X-GitHub-Delivery"))
