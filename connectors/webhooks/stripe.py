"""Stripe webhooks: Stripe-Signature (t= and v1=) with a timestamp tolerance.

Each event becomes a bus event with source `stripe.com`, detail-type the Stripe event's
`type` (payment_intent.succeeded, ...) and the Stripe event as its detail, de-duplicated on
the Stripe event's `id`. A signature older than `webhook.tolerance.seconds` (300 by default,
Stripe's own libraries' default) is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from connectors.definitions import Field
from connectors.webhooks import signatures
from connectors.webhooks.base import Delivery, Refused, WebhookConnector, header


class StripeWebhook(WebhookConnector):
    CONFIG: ClassVar[tuple[Field, ...]] = (
        *WebhookConnector.CONFIG,
        Field("webhook.tolerance.seconds", "INT", "How far the signature's timestamp may be from now (0: unchecked).",
              default=300, check=lambda v: None if v >= 0 else "Value must be at least 0"),
    )

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        signatures.stripe(self.secret, header(headers, "Stripe-Signature"), body, now,
                          self.values["webhook.tolerance.seconds"])

    def delivery(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> Delivery:
        kind = payload.get("type")
        if not isinstance(kind, str) or not kind:
            raise Refused(400, "invalid", "the Stripe event has no type")
        event_id = payload.get("id")
        return Delivery("stripe.com", kind, payload, event_id if isinstance(event_id, str) else None)
