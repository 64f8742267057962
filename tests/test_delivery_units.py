"""The delivery service's pure parts: backoff and tiers, commit points, requests, rate shares,
and the resolver that checks addresses when connecting (no broker)."""

from __future__ import annotations

import asyncio
import random
import time

import orjson
import pytest

from streams.arns import TargetRef
from streams.delivery.deliverer import Undeliverable
from streams.delivery.guard import GuardedResolver, RefusedConnection
from streams.delivery.kafka_deliverer import KafkaDeliverer
from streams.delivery.letters import dead_letter_headers, delivery_from_letter
from streams.delivery.offsets import PartitionOffsets
from streams.delivery.rate import TokenBucket
from streams.delivery.requests import RequestError, build, endpoint_url, static_credentials
from streams.delivery.retries import parse_retry_after, retriable_status
from streams.jobs import Job
from streams.retry_schedule import BACKOFF_MAX_S, TIERS_S, backoff_s, tier_for
from streams.settings import Settings


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        wanted = min(BACKOFF_MAX_S, 2 ** (attempts - 1))
        waits = [backoff_s(attempts, rng=rng) for _ in range(200)]
        assert all(wanted * 0.5 <= w <= wanted for w in waits)
        assert max(waits) - min(waits) > wanted * 0.3  # jittered, not one value
    assert backoff_s(1, retry_after_s=20, rng=rng) == 20  # Retry-After asks for longer: honoured
    assert backoff_s(1, retry_after_s=10_000, rng=rng) == BACKOFF_MAX_S


def test_tiers_never_hold_a_record_longer_than_its_wait_except_the_shortest() -> None:
    assert tier_for(0.2) == TIERS_S[0]
    assert tier_for(9.9) == 1 and tier_for(10) == 10 and tier_for(299) == 60 and tier_for(10_000) == 300


def test_what_is_retried() -> None:
    statuses = (400, 401, 403, 404, 409, 429, 500, 502, 503)
    assert [s for s in statuses if retriable_status(s)] == [429, 500, 502, 503]
    assert parse_retry_after("3") == 3.0 and parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


def test_commit_point_is_the_oldest_record_in_hand() -> None:
    offsets = PartitionOffsets()
    assert offsets.committable() is None
    for offset in (5, 6, 7, 8):
        offsets.take(offset)
    offsets.done(6)
    offsets.done(8)
    assert offsets.committable() == 5
    offsets.done(5)
    assert offsets.committable() == 7
    offsets.done(7)
    assert offsets.committable() == 9 and offsets.in_hand == 0


def test_request_from_delivery_destination_and_connection() -> None:
    target = {"HttpParameters": {"PathParameterValues": ["a/b"], "HeaderParameters": {"h": "t"},
                                 "QueryStringParameters": {"q": "t"}}}
    destination = {"InvocationEndpoint": "https://x.example/v1/*/do", "HttpMethod": "GET"}
    auth = {"InvocationHttpParameters": {"QueryStringParameters": [{"Key": "q", "Value": "c"}]}}
    request = build(b'{"a":1}', target, destination, auth)
    assert request.url == "https://x.example/v1/a%2Fb/do" and request.body is None  # GET sends no body
    assert request.query == [("q", "c")] and request.headers["h"] == "t"
    with pytest.raises(RequestError, match="2 path parameter"):
        endpoint_url("https://x/*/*", ["one"])
    api_key = {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}
    assert static_credentials("API_KEY", api_key) == {"k": "v"}


def test_dead_letter_headers_lead_back_to_a_fresh_delivery() -> None:
    job = Job({"bus": "b", "rule": "r", "target": {"Id": "t", "Arn": "arn:x"}, "payload": '{"p":1}',
               "event_id": "e1", "attempt": 0}, 1_700_000_000_000)
    job.attempted("HTTP 500")
    job.attempted("HTTP 503")
    found = dict(dead_letter_headers(job, "HTTP 503: busy", 503))
    assert (found["busbar-attempt"], found["busbar-status"], found["busbar-rule"]) == (b"2", b"503", b"r")
    assert found["busbar-first-attempt"].endswith(b"Z")
    again = orjson.loads(delivery_from_letter(found, job.payload) or b"")
    assert again["payload"] == '{"p":1}' and again["target"] == {"Id": "t", "Arn": "arn:x"}
    assert "attempt" not in again and "timestamp_ms" not in again
    assert delivery_from_letter({"busbar-rule": b"r"}, b"{}") is None


def test_token_bucket_keeps_to_its_rate() -> None:
    async def run() -> float:
        bucket = TokenBucket(20.0)
        started = time.monotonic()
        for _ in range(21):
            await bucket.take()
        return time.monotonic() - started

    assert 0.9 <= asyncio.run(run()) < 1.5  # the first is free, the next 20 come at 20 a second


def test_resolver_refuses_names_that_lead_to_private_addresses() -> None:
    async def resolve(allow: bool) -> list:
        return await GuardedResolver(allow).resolve("localhost", 443)

    with pytest.raises(RefusedConnection, match="localhost resolves to a refused address"):
        asyncio.run(resolve(False))
    assert asyncio.run(resolve(True))


def test_a_kafka_job_keeps_the_record_as_the_router_sent_it() -> None:
    headers = [("busbar-rule", b"r"), ("busbar-bus", b"b")]
    job = Job.for_record(target={"Id": "t", "Arn": "arn:aws:kafka:us-east-1:000000000000:topic/west/orders"}, bus="b", rule="r",
                         value=b'{"id":"e1"}', key=b"\x00e1", headers=headers, timestamp_ms=1_700_000_000_000)
    again = Job.decode(job.encode(), 0)
    assert (again.payload, again.key, again.headers) == (b'{"id":"e1"}', b"\x00e1", headers)
    assert again.timestamp_ms == 1_700_000_000_000 and again.ref.cluster == "west"


def test_kafka_deliverer_lanes_by_cluster_and_topic_and_refuses_unknown_clusters() -> None:
    settings = Settings.from_env({"BUSBAR_CLUSTERS": "west=10.0.0.1:9092", "BUSBAR_TOPIC_PREFIX": "p"})
    deliverer = KafkaDeliverer(settings)
    job = Job.for_record(target={"Arn": "x"}, bus="b", rule="r", value=b"{}", key=None, headers=[], timestamp_ms=1)
    assert deliverer.prepare(job, TargetRef("topic", "orders", "west")).lane == "west/orders"
    assert deliverer.prepare(job, TargetRef("bus", "other")).lane == "local/p.bus.other"
    with pytest.raises(Undeliverable, match="unknown Kafka cluster 'east'"):
        deliverer.prepare(job, TargetRef("topic", "orders", "east"))


def test_a_parked_kafka_jobs_dead_letter_leads_back_to_the_same_record() -> None:
    headers = [("busbar-rule", b"r"), ("busbar-bus", b"b")]
    target = {"Id": "t", "Arn": "arn:aws:kafka:us-east-1:000000000000:topic/west/orders"}
    job = Job.for_record(target=target, bus="b", rule="r", value=b'{"id":"e1"}', key=b"e1", headers=headers,
                         timestamp_ms=1_700_000_000_000)
    job.attempted("Kafka: KafkaConnectionError")
    letter = dict(dead_letter_headers(job, "Kafka: KafkaConnectionError (MaximumRetryAttempts spent)", 0))
    again = Job.decode(delivery_from_letter(letter, job.payload) or b"", 0)
    assert (again.payload, again.key, again.headers, again.target) == (job.payload, b"e1", headers, target)
    assert again.attempts == 0
