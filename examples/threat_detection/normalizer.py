"""The normalizing step: raw telemetry from the `threat.raw` topic onto the `security` bus, in one shape.

CloudTrail sign-ins become `Authentication` events ({user, sourceIp, outcome}); VPC flow log
lines become `Network Connection` events ({instanceId, srcIp, dstIp, dstPort, protocol, action}).
Each keeps its original `time`, which is what the correlation windows go by.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from confluent_kafka import Consumer, TopicPartition

SOURCE = "example.normalizer"
FLOW_FIELDS = ("version", "account", "interface", "srcIp", "dstIp", "srcPort", "dstPort", "protocol", "packets",
               "bytes", "start", "end", "action", "status", "instanceId")


def normalize(event: dict[str, Any]) -> dict[str, Any] | None:
    """The security bus's entry for one raw event, or None for what it does not know."""
    detail = event["detail"]
    if event["source"] == "aws.signin":
        shaped = {"user": detail["userIdentity"]["userName"], "sourceIp": detail["sourceIPAddress"],
                  "outcome": detail["responseElements"]["ConsoleLogin"].lower(), "rawEventId": detail["eventID"]}
        kind = "Authentication"
    elif event["source"] == "vpc.flowlogs":
        record = dict(zip(FLOW_FIELDS, detail["message"].split(), strict=True))
        shaped = {"instanceId": record["instanceId"], "srcIp": record["srcIp"], "dstIp": record["dstIp"],
                  "dstPort": int(record["dstPort"]), "protocol": int(record["protocol"]), "action": record["action"]}
        kind = "Network Connection"
    else:
        return None
    return {"EventBusName": "security", "Source": SOURCE, "DetailType": kind, "Time": event["time"],
            "Detail": json.dumps(shaped)}


class Normalizer(threading.Thread):
    """Reads `threat.raw` from the offsets given (this run's records only) and puts what it normalizes."""

    def __init__(self, bootstrap: str, events: Any, start_offsets: list[TopicPartition], topic: str) -> None:
        super().__init__(name="normalizer", daemon=True)
        self.events = events
        self.forwarded = 0
        self.stopping = threading.Event()
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "threat-normalizer",
                                   "enable.auto.commit": False, "log_level": 0})
        self._consumer.assign(start_offsets)
        self.topic = topic

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                batch = [normalize(json.loads(message.value())) for message in self._consumer.consume(500, 0.2)
                         if message.error() is None]
                entries = [entry for entry in batch if entry is not None]
                for at in range(0, len(entries), 10):  # PutEvents takes ten entries a call
                    result = self.events.put_events(Entries=entries[at:at + 10])
                    if result["FailedEntryCount"]:
                        raise RuntimeError(f"normalizer: entries refused: {result['Entries']}")
                self.forwarded += len(entries)
        finally:
            self._consumer.close()
