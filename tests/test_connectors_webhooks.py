"""Webhook sources on a real worker: real signed requests for each kind, through urllib and aiohttp.

Each case checks what the sender is answered and what reached the bus: a good request's
event, and nothing for a bad, missing or stale signature; a redelivery answered 200 and
published once; an oversized body refused before it is read whole.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.connect_support import call, github_signature, stripe_signature, wait_for
from tests.support import WorkerProcess, running, unique
from tests.test_api_support import client_for
from tests.test_router_support import create_topics, headers, read_all, topic_arn

pytestmark = pytest.mark.kafka

SECRET = "whsec_test_secret"


@pytest.fixture
def bus(busbar_worker: WorkerProcess) -> Iterator[str]:
    name = unique("hooks")
    client_for(busbar_worker.url).create_event_bus(Name=name)
    yield name


def create(url: str, name: str, config: dict[str, str]) -> None:
    status, body = call(url, "POST", "/connectors", {"name": name, "config": config})
    assert status == 201, body


def events_on(worker: WorkerProcess, bus: str) -> list[dict]:
    return [orjson.loads(m.value()) for m in read_all(worker.bootstrap, worker.topics.bus(bus))]


def post(url: str, name: str, body: bytes, extra: dict[str, str]) -> tuple[int, dict]:
    return call(url, "POST", f"/webhooks/{name}", raw=body, headers=extra)


def test_github_deliveries(busbar_worker: WorkerProcess, bus: str) -> None:
    url, name = busbar_worker.url, unique("gh")
    create(url, name, {"connector.class": "GitHubWebhook", "bus": bus, "webhook.secret": SECRET,
                       "webhook.max.bytes": "4096"})
    body = orjson.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/shop"}})
    delivery = str(uuid.uuid4())
    good = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": github_signature(SECRET, body)}

    status, answer = post(url, name, body, good)
    assert status == 200 and answer["duplicate"] is False
    assert post(url, name, body, good) == (200, {"id": answer["id"], "duplicate": True})  # redelivery
    status, refused = post(url, name, body, {**good, "X-Hub-Signature-256": github_signature("wrong", body)})
    assert (status, refused["error"]) == (401, "signature")
    status, refused = post(url, name, body + b" ", good)  # the body changed after signing
    assert (status, refused["error"]) == (401, "signature")
    status, refused = post(url, name, body, {k: v for k, v in good.items() if k != "X-Hub-Signature-256"})
    assert (status, refused["error"]) == (401, "missing_signature")
    big = orjson.dumps({"blob": "x" * 5000})
    status, refused = post(url, name, big, {**good, "X-Hub-Signature-256": github_signature(SECRET, big)})
    assert (status, refused["error"]) == (413, "oversized")

    [event] = events_on(busbar_worker, bus)  # exactly one: the redelivery and the refusals added nothing
    assert event["id"] == answer["id"]
    assert (event["source"], event["detail-type"]) == ("github.com", "push")
    assert event["detail"]["repository"]["full_name"] == "acme/shop"
    metrics = urllib_text(f"{url}/metrics")
    assert f'busbar_connector_rejected_total{{connector="{name}",reason="signature"}} 2.0' in metrics
    assert f'busbar_connector_records_out_total{{connector="{name}"}} 1.0' in metrics


def urllib_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_stripe_deliveries(busbar_worker: WorkerProcess, bus: str) -> None:
    url, name = busbar_worker.url, unique("stripe")
    create(url, name, {"connector.class": "StripeWebhook", "bus": bus, "webhook.secret": SECRET})
    evt = f"evt_{uuid.uuid4().hex}"
    body = orjson.dumps({"id": evt, "type": "payment_intent.succeeded", "data": {"object": {"amount": 2000}}})
    now = int(time.time())

    async def send() -> list[tuple[int, dict]]:  # through aiohttp, as a second client library
        async with aiohttp.ClientSession() as session:
            answers = []
            for signature in [stripe_signature(SECRET, body, now),             # good
                              stripe_signature(SECRET, body, now),             # replayed: same Stripe event id
                              stripe_signature(SECRET, body, now - 301),       # stale: outside 300 s
                              stripe_signature("whsec_other", body, now),      # bad
                              None]:                                           # missing
                extra = {} if signature is None else {"Stripe-Signature": signature}
                async with session.post(f"{url}/webhooks/{name}", data=body, headers=extra) as response:
                    answers.append((response.status, await response.json()))
            return answers

    good, replay, stale, bad, missing = asyncio.run(send())
    assert good[0] == 200 and replay == (200, {"id": good[1]["id"], "duplicate": True})
    assert (stale[0], stale[1]["error"]) == (401, "stale")
    assert (bad[0], bad[1]["error"]) == (401, "signature")
    assert (missing[0], missing[1]["error"]) == (401, "missing_signature")
    [event] = events_on(busbar_worker, bus)
    assert (event["source"], event["detail-type"], event["detail"]["id"]) == ("stripe.com", "payment_intent.succeeded", evt)


def test_generic_hmac_as_zendesk_signs(busbar_worker: WorkerProcess, bus: str) -> None:
    url, name = busbar_worker.url, unique("zendesk")
    create(url, name, {
        "connector.class": "HmacWebhook", "bus": bus, "webhook.secret": SECRET,
        "webhook.signature.header": "X-Zendesk-Webhook-Signature", "webhook.signature.encoding": "base64",
        "webhook.signed.content": "timestamp+body", "webhook.timestamp.header": "X-Zendesk-Webhook-Signature-Timestamp",
        "event.source": "zendesk.com", "event.detail.type.field": "type", "event.id.field": "id",
        "webhook.max.bytes": "2048"})
    body = orjson.dumps({"id": "01H", "type": "zen:event-type:ticket.created", "detail": {"id": "35436"}})

    def sign(stamp: str, payload: bytes = body, secret: str = SECRET) -> dict[str, str]:
        digest = hmac.new(secret.encode(), stamp.encode() + payload, hashlib.sha256).digest()
        return {"X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
                "X-Zendesk-Webhook-Signature-Timestamp": stamp}

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, answer = post(url, name, body, sign(now))
    assert status == 200 and not answer["duplicate"]
    assert post(url, name, body, sign(now))[1]["duplicate"] is True
    assert post(url, name, body, sign(old))[1]["error"] == "stale"
    assert post(url, name, body, sign(now, secret="nope"))[1]["error"] == "signature"
    assert post(url, name, body, {"X-Zendesk-Webhook-Signature-Timestamp": now})[1]["error"] == "missing_signature"
    big = orjson.dumps({"type": "t", "pad": "x" * 4000})
    assert post(url, name, big, sign(now, big))[0] == 413
    [event] = events_on(busbar_worker, bus)
    assert (event["source"], event["detail-type"]) == ("zendesk.com", "zen:event-type:ticket.created")


def test_unknown_webhook_is_404(busbar_worker: WorkerProcess) -> None:
    status, body = post(busbar_worker.url, unique("nobody"), b"{}", {})
    assert status == 404 and body["error"] == "not_found"


def test_signed_github_delivery_is_routed_by_a_boto3_rule(busbar_worker: WorkerProcess, bus: str) -> None:
    url, name, target = busbar_worker.url, unique("gh"), unique("pushes")
    create_topics(busbar_worker.bootstrap, target)
    events = client_for(url)
    events.put_rule(Name="pushes-to-main", EventBusName=bus, EventPattern=orjson.dumps(
        {"source": ["github.com"], "detail-type": ["push"], "detail": {"ref": ["refs/heads/main"]}}).decode())
    events.put_targets(Rule="pushes-to-main", EventBusName=bus, Targets=[{"Id": "t", "Arn": topic_arn(target)}])
    create(url, name, {"connector.class": "GitHubWebhook", "bus": bus, "webhook.secret": SECRET})
    for ref in ("refs/heads/main", "refs/heads/feature"):
        body = orjson.dumps({"ref": ref})
        status, _ = post(url, name, body, {"X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
                                           "X-Hub-Signature-256": github_signature(SECRET, body)})
        assert status == 200
    routed = wait_for(lambda: read_all(busbar_worker.bootstrap, target), what="the routed push")
    assert [orjson.loads(m.value())["detail"]["ref"] for m in routed] == ["refs/heads/main"]
    assert headers(routed[0])["busbar-rule"] == "pushes-to-main"


def test_connectors_and_seen_deliveries_survive_a_restart(kafka_bootstrap: str, worker_logs: Path) -> None:
    """Both live in Kafka: a restarted worker serves the webhook as soon as it is healthy, and
    knows the deliveries published before it stopped."""
    prefix, name = unique("restart"), unique("gh")
    body = orjson.dumps({"zen": "Design for failure."})
    signed = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
              "X-Hub-Signature-256": github_signature(SECRET, body)}
    with running(WorkerProcess(kafka_bootstrap, prefix=prefix), worker_logs) as worker:
        create(worker.url, name, {"connector.class": "GitHubWebhook", "bus": "default", "webhook.secret": SECRET})
        status, first = post(worker.url, name, body, signed)
        assert status == 200 and not first["duplicate"]
    with running(WorkerProcess(kafka_bootstrap, prefix=prefix), worker_logs) as worker:
        assert post(worker.url, name, body, signed) == (200, {"id": first["id"], "duplicate": True})
        assert [e["id"] for e in events_on(worker, "default")] == [first["id"]]
