"""The responses: a finding per detection on `security.findings` (the AWS Security Finding Format's
main fields), and the remediation service, which disables users, isolates instances and blocks
addresses, recording each action on `security.remediations`.

The remediation here records what it would do to AWS (iam:DeleteLoginProfile, an isolation
security group, a network ACL entry) instead of calling AWS, so the example runs anywhere.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from telemetry import ACCOUNT, REGION

PRODUCT_ARN = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
KINDS: dict[str, dict[str, Any]] = {
    "brute-force-login": {"types": ["TTPs/Credential Access/Brute Force"], "severity": ("HIGH", 70),
                          "title": "Brute-force sign-in attempts from {sourceIp}"},
    "port-scan": {"types": ["TTPs/Discovery/Network Service Scanning"], "severity": ("MEDIUM", 50),
                  "title": "Instance {instanceId} ({srcIp}) scanned many ports"},
    "compromised-credentials": {"types": ["TTPs/Initial Access/Valid Accounts"], "severity": ("CRITICAL", 90),
                                "title": "Sign-in as {user} succeeded after repeated failures"},
}


def finding(detection: dict[str, Any]) -> dict[str, Any]:
    """An ASFF finding for one derived event of a correlation rule."""
    detail = detection["detail"]
    kind = KINDS[detail["rule"]]
    group = detail["groupBy"]
    label, normalized = kind["severity"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"busbar/{detail['rule']}/{detection['id']}",
        "ProductArn": PRODUCT_ARN,
        "GeneratorId": f"busbar-correlation/{detail['bus']}/{detail['rule']}",
        "AwsAccountId": ACCOUNT,
        "Region": REGION,
        "Types": kind["types"],
        "FirstObservedAt": detail["window"]["start"],
        "LastObservedAt": detail["window"]["end"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": label, "Normalized": normalized},
        "Title": kind["title"].format(**{path.rsplit(".", 1)[-1]: value for path, value in group.items()}),
        "Description": f"{detail['rule']}: {detail.get('count', detail.get('distinctCount'))} matching events "
                       f"within {detail['window']['timespanSeconds']} s for {json.dumps(group)}.",
        "Resources": _resources(detail["rule"], group),
        "ProductFields": {"busbar/eventIds": ",".join(detail["eventIds"])},
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
    }


def _resources(rule: str, group: dict[str, str]) -> list[dict[str, Any]]:
    if rule == "port-scan":
        return [{"Type": "AwsEc2Instance", "Id": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{group['detail.instanceId']}",
                 "Region": REGION}]
    if rule == "compromised-credentials":
        return [{"Type": "AwsIamUser", "Id": f"arn:aws:iam::{ACCOUNT}:user/{group['detail.user']}"}]
    return [{"Type": "Other", "Id": group["detail.sourceIp"]}]


def remediation(detection: dict[str, Any]) -> dict[str, Any]:
    """What the remediation service does about a detection."""
    detail = detection["detail"]
    group = detail["groupBy"]
    if detail["rule"] == "compromised-credentials":
        action = {"action": "disable-user", "user": group["detail.user"],
                  "calls": ["iam:DeleteLoginProfile", "iam:UpdateAccessKey Status=Inactive"]}
    elif detail["rule"] == "port-scan":
        action = {"action": "isolate-instance", "instance": group["detail.instanceId"],
                  "calls": ["ec2:ModifyInstanceAttribute Groups=[sg-isolation]"]}
    else:
        action = {"action": "block-address", "address": group["detail.sourceIp"],
                  "calls": ["ec2:CreateNetworkAclEntry RuleAction=deny"]}
    return {**action, "detection": detection["id"], "rule": detail["rule"]}


class Responder(threading.Thread):
    def __init__(self, bootstrap: str, start_offsets: list[TopicPartition], on_detection: Any) -> None:
        super().__init__(name="responder", daemon=True)
        self.detections: list[dict[str, Any]] = []
        self.remediations: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._on_detection = on_detection
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "threat-responder",
                                   "enable.auto.commit": False, "log_level": 0})
        self._consumer.assign(start_offsets)
        self._producer = Producer({"bootstrap.servers": bootstrap, "log_level": 0})

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for message in self._consumer.consume(100, 0.2):
                    if message.error() is None:
                        self.respond(json.loads(message.value()))
                self._producer.flush(10)
        finally:
            self._consumer.close()

    def respond(self, detection: dict[str, Any]) -> None:
        found, action = finding(detection), remediation(detection)
        self._producer.produce("security.findings", json.dumps(found).encode(), found["Id"].encode())
        self._producer.produce("security.remediations", json.dumps(action).encode(), detection["id"].encode())
        self.detections.append(detection)
        self.remediations.append(action)
        self._on_detection(detection, found, action)
