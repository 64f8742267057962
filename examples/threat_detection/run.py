"""Real-time threat detection on busbar, end to end, against a running busbar (`make up`).

    .venv/bin/python examples/threat_detection/run.py --endpoint http://127.0.0.1:4010

Declares the pipeline (pipeline.yaml, through `busbar apply`), starts the normalizer and the
responder, puts six minutes of CloudTrail sign-ins and VPC flow log records on the `ingest`
bus through the EventBridge API (a brute-force attack, a port scan and a compromised account
among benign traffic), prints each detection as it happens and a summary at the end. Exit 0
when each attack was detected with the right key and nothing else was; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from normalizer import Normalizer
from responder import Responder
from telemetry import Attack, scenario

HERE = Path(__file__).resolve().parent
TOPICS = ("threat.raw", "security.detections", "security.findings", "security.remediations")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:4010", help="busbar's API")
    parser.add_argument("--kafka", default="127.0.0.1:19092", help="busbar's Kafka (make up prints it)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated traffic")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the detections")
    parser.add_argument("--summary-json", type=Path, help="also write the summary here")
    args = parser.parse_args()

    subprocess.run([sys.executable, "-m", "streams", "apply", str(HERE / "pipeline.yaml"),
                    "--endpoint-url", args.endpoint, "--region", args.region], check=True)
    ensure_topics(args.kafka)
    events = boto3.client("events", endpoint_url=args.endpoint, region_name=args.region,
                          aws_access_key_id="example", aws_secret_access_key="example")
    plan = scenario(datetime.now(UTC).replace(microsecond=0), seed=args.seed)
    normalizer = Normalizer(args.kafka, events, ends(args.kafka, "threat.raw"), "threat.raw")
    responder = Responder(args.kafka, ends(args.kafka, "security.detections"), show)
    normalizer.start()
    responder.start()

    started = time.monotonic()
    for at in range(0, len(plan.entries), 10):
        result = events.put_events(Entries=plan.entries[at:at + 10])
        if result["FailedEntryCount"]:
            raise SystemExit(f"PutEvents refused entries: {result['Entries']}")
    print(f"put {len(plan.entries)} raw events on the ingest bus in {time.monotonic() - started:.1f} s", flush=True)

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not all(found(responder.detections, a) for a in plan.attacks):
        time.sleep(0.5)
    time.sleep(5)  # anything else the traffic would raise has had time to arrive
    normalizer.stopping.set()
    responder.stopping.set()
    normalizer.join(10)
    responder.join(10)
    summary = summarize(plan.attacks, responder.detections, responder.remediations, normalizer.forwarded)
    print(json.dumps(summary, indent=2))
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary))
    return 0 if summary["ok"] else 1


def found(detections: list[dict[str, Any]], attack: Attack) -> bool:
    return any(d["detail"]["rule"] == attack.rule and d["detail"]["groupBy"] == attack.group for d in detections)


def summarize(attacks: list[Attack], detections: list[dict[str, Any]], remediations: list[dict[str, Any]],
              normalized: int) -> dict[str, Any]:
    unexpected = [d["detail"] for d in detections if not any(found([d], attack) for attack in attacks)]
    return {
        "normalized_events": normalized,
        "detections": [{"rule": d["detail"]["rule"], "group": d["detail"]["groupBy"]} for d in detections],
        "missed": [attack.rule for attack in attacks if not found(detections, attack)],
        "unexpected": unexpected,
        "disabled_users": sorted({r["user"] for r in remediations if r["action"] == "disable-user"}),
        "isolated_instances": sorted({r["instance"] for r in remediations if r["action"] == "isolate-instance"}),
        "blocked_addresses": sorted({r["address"] for r in remediations if r["action"] == "block-address"}),
        "ok": all(found(detections, attack) for attack in attacks) and not unexpected,
    }


def show(detection: dict[str, Any], finding: dict[str, Any], action: dict[str, Any]) -> None:
    detail = detection["detail"]
    target = action.get("user") or action.get("instance") or action.get("address")
    print(f"DETECTED {detail['rule']:<24} {json.dumps(detail['groupBy'])}  window {detail['window']['start']}.."
          f"{detail['window']['end']}  -> finding {finding['Severity']['Label']}, {action['action']} {target}",
          flush=True)


def ensure_topics(bootstrap: str) -> None:
    """The example's topics, so that reading them can start before anything is written."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    missing = [NewTopic(name, 1, 1) for name in TOPICS if name not in admin.list_topics(timeout=10).topics]
    for future in admin.create_topics(missing).values() if missing else []:
        try:
            future.result()
        except Exception as exc:  # created meanwhile by a rule's first event
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise


def ends(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Where the topic ends now: this run reads only what it causes."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "threat-offsets", "log_level": 0})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return [TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
                for p in partitions]
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
