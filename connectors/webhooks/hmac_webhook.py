"""Any HMAC-signing sender (Zendesk, Salesforce, Shopify, an in-house service), configured by keys.

    webhook.signature.header      header carrying the signature (required)
    webhook.signature.algorithm   sha1 | sha256 | sha512 (sha256)
    webhook.signature.encoding    hex | base64 (hex)
    webhook.signature.prefix      text before the signature in the header, e.g. "sha256=" ("")
    webhook.signed.content        body | timestamp+body (body)
    webhook.timestamp.header      header with the time signed with the body (unix or ISO 8601)
    webhook.timestamp.separator   what joins timestamp and body when both are signed ("")
    webhook.tolerance.seconds     how far that time may be from now (300; 0: unchecked)
    event.source                  the events' source (required)
    event.detail.type             a fixed detail-type, or
    event.detail.type.header / event.detail.type.field   where to read it (header name / dotted path)
    event.id.header / event.id.field                      the delivery id redeliveries share

Zendesk, for one: header X-Zendesk-Webhook-Signature, sha256, base64, timestamp+body, timestamp
header X-Zendesk-Webhook-Signature-Timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from connectors.definitions import Field
from connectors.plugin import Environment
from connectors.webhooks import signatures
from connectors.webhooks.base import Delivery, Refused, WebhookConnector, header


def _field(payload: dict[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class HmacWebhook(WebhookConnector):
    CONFIG: ClassVar[tuple[Field, ...]] = (
        *WebhookConnector.CONFIG,
        Field("webhook.signature.header", "STRING", "Header carrying the signature.", required=True),
        Field("webhook.signature.algorithm", "STRING", "HMAC hash.", default="sha256",
              choices=tuple(signatures.ALGORITHMS)),
        Field("webhook.signature.encoding", "STRING", "How the signature is written.", default="hex",
              choices=signatures.ENCODINGS),
        Field("webhook.signature.prefix", "STRING", "Text before the signature in its header, e.g. sha256=."),
        Field("webhook.signed.content", "STRING", "What is signed.", default="body", choices=("body", "timestamp+body")),
        Field("webhook.timestamp.header", "STRING", "Header with the time signed with the body."),
        Field("webhook.timestamp.separator", "STRING", "What joins timestamp and body in the signed content."),
        Field("webhook.tolerance.seconds", "INT", "How far the timestamp may be from now (0: unchecked).",
              default=300, check=lambda v: None if v >= 0 else "Value must be at least 0"),
        Field("event.source", "STRING", "The events' source, e.g. zendesk.com.", required=True),
        Field("event.detail.type", "STRING", "A fixed detail-type."),
        Field("event.detail.type.header", "STRING", "Header the detail-type is read from."),
        Field("event.detail.type.field", "STRING", "Dotted path in the payload the detail-type is read from."),
        Field("event.id.header", "STRING", "Header with the delivery id (for de-duplication)."),
        Field("event.id.field", "STRING", "Dotted path in the payload to the delivery id (for de-duplication)."),
    )

    @classmethod
    def check(cls, values: Mapping[str, Any], env: Environment) -> Sequence[tuple[str, str]]:
        errors = list(super().check(values, env))
        if not any(values.get(key) for key in ("event.detail.type", "event.detail.type.header",
                                               "event.detail.type.field")):
            errors.append(("event.detail.type", "Set one of event.detail.type, event.detail.type.header "
                                                "or event.detail.type.field."))
        if values.get("webhook.signed.content") == "timestamp+body" and not values.get("webhook.timestamp.header"):
            errors.append(("webhook.timestamp.header", "Required when webhook.signed.content is timestamp+body."))
        return errors

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        v = self.values
        given = header(headers, v["webhook.signature.header"])
        if given is None:
            raise signatures.SignatureRejected("missing_signature", f"missing {v['webhook.signature.header']} header")
        prefix = v.get("webhook.signature.prefix") or ""
        if prefix and not given.startswith(prefix):
            raise signatures.SignatureRejected("signature", f"{v['webhook.signature.header']} does not start with {prefix}")
        message = body
        stamp_header = v.get("webhook.timestamp.header")
        if stamp_header:
            stamp = header(headers, stamp_header)
            if stamp is None:
                raise signatures.SignatureRejected("missing_signature", f"missing {stamp_header} header")
            if v["webhook.signed.content"] == "timestamp+body":
                message = stamp.encode() + (v.get("webhook.timestamp.separator") or "").encode() + body
        expected = signatures.digest(self.secret, v["webhook.signature.algorithm"], message,
                                     v["webhook.signature.encoding"])
        if not signatures.same(expected, given[len(prefix):].strip()):
            raise signatures.SignatureRejected("signature", f"{v['webhook.signature.header']} does not match")
        if stamp_header:
            signatures.check_age(signatures.parse_timestamp(stamp), now, v["webhook.tolerance.seconds"])

    def delivery(self, headers: Mapping[str, str], body: bytes, payload: dict[str, Any]) -> Delivery:
        v = self.values
        kind = (v.get("event.detail.type")
                or (header(headers, v["event.detail.type.header"]) if v.get("event.detail.type.header") else None)
                or (_field(payload, v["event.detail.type.field"]) if v.get("event.detail.type.field") else None))
        if not isinstance(kind, str) or not kind:
            raise Refused(400, "invalid", "the request names no detail-type where event.detail.type.* says")
        delivery_id = (header(headers, v["event.id.header"]) if v.get("event.id.header") else None) or (
            _field(payload, v["event.id.field"]) if v.get("event.id.field") else None)
        return Delivery(v["event.source"], kind, payload, None if delivery_id is None else str(delivery_id))


