"""Helpers the API and CLI tests share (no tests here): boto3 clients and raw requests."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from confluent_kafka import Consumer, TopicPartition

REGION = "us-east-1"


def client_for(url: str, key: str = "test", secret: str = "test") -> BaseClient:
    """A stock boto3 events client, as users create one; no retries, so a refusal shows at once."""
    return boto3.client("events", endpoint_url=url, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def raw_post(url: str, body: bytes, target: str | None = "AWSEvents.ListEventBuses",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, headers) of an unsigned POST: what a client other than botocore sends."""
    request = urllib.request.Request(url + "/", data=body, method="POST", headers={
        "Content-Type": "application/x-amz-json-1.1", **({"X-Amz-Target": target} if target else {}),
        **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def read_topic(bootstrap: str, topic: str, until: Callable[[list[dict[str, Any]]], bool],
               timeout: float = 30.0) -> list[dict[str, Any]]:
    """The JSON records of `topic` from its start, read until `until(records)` holds or time runs out."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, "log_level": 0})
    consumer.subscribe([topic])
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not until(records):
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                records.append(json.loads(msg.value()))
    finally:
        consumer.close()
    return records


def high_watermarks(bootstrap: str, topic: str) -> int:
    """Records ever written to `topic` (sum of its partitions' end offsets)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}", "log_level": 0})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()
