"""Realistic security telemetry: CloudTrail ConsoleLogin events and VPC flow log records.

Mostly benign (employees signing in, now and then mistyping a password once; instances talking
to a handful of services), with three attacks mixed in. `Scenario.attacks` is the ground truth
the run checks its detections against.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
USERS = ["alice", "bob", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
         "peggy", "rupert", "sybil", "trent", "victor", "walter", "carol", "admin"]
AGENTS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"]
SERVICES = [(443, 6), (80, 6), (5432, 6), (6379, 6), (53, 17)]

BRUTE_FORCE_IP = "198.51.100.23"
SCANNER = ("i-0a1b2c3d4e5f60718", "10.0.3.17")
COMPROMISED = ("carol", "203.0.113.77")


@dataclass(frozen=True)
class Attack:
    rule: str
    group: dict[str, str]
    response: str  # what the responder should do about it


@dataclass
class Scenario:
    """Raw events (PutEvents entries for the ingest bus) in time order, and the attacks among them."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    attacks: list[Attack] = field(default_factory=list)


def console_login(moment: datetime, user: str, ip: str, success: bool, rng: random.Random) -> dict[str, Any]:
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": f"AIDA{rng.getrandbits(60):015X}",
                         "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT, "userName": user},
        "eventTime": _text(moment), "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": REGION, "sourceIPAddress": ip, "userAgent": rng.choice(AGENTS), "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success" if success else "Failure"},
        "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                                "MFAUsed": "No"},
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))), "readOnly": False, "eventType": "AwsConsoleSignIn",
        "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    if not success:
        detail["errorMessage"] = "Failed authentication"
    return _entry("aws.signin", "AWS Console Sign In via CloudTrail", moment, detail)


def flow_record(moment: datetime, instance: str, src: str, dst: str, port: int, protocol: int, action: str,
                rng: random.Random) -> dict[str, Any]:
    """One record of a flow log in a custom format that ends with the instance id (flow logs v3+)."""
    start = int(moment.timestamp())
    line = (f"2 {ACCOUNT} eni-{rng.getrandbits(64):017x} {src} {dst} {rng.randint(32768, 60999)} {port} "
            f"{protocol} {rng.randint(1, 40)} {rng.randint(60, 40000)} {start} {start + 60} {action} OK {instance}")
    detail = {"logGroup": "/vpc/flowlogs/prod", "logStream": f"eni-{rng.getrandbits(32):08x}-all",
              "message": line}
    return _entry("vpc.flowlogs", "VPC Flow Log Record", moment, detail)


def scenario(start: datetime, seed: int = 7) -> Scenario:
    """Six minutes of traffic from `start`, with the three attacks at fixed moments."""
    rng = random.Random(seed)
    timed: list[tuple[datetime, dict[str, Any]]] = []
    office_ips = {user: f"192.0.2.{10 + n}" for n, user in enumerate(USERS)}
    instances = [(f"i-{rng.getrandbits(68):017x}", f"10.0.{rng.randint(1, 2)}.{rng.randint(10, 250)}")
                 for _ in range(12)]
    mistyped: set[str] = set()
    for _ in range(80):  # employees sign in; now and then one mistypes the password once first
        moment = start + timedelta(seconds=rng.uniform(0, 360))
        user = rng.choice(USERS[:-2])
        if user not in mistyped and rng.random() < 0.2:
            mistyped.add(user)
            timed.append((moment, console_login(moment, user, office_ips[user], False, rng)))
            moment += timedelta(seconds=rng.uniform(3, 20))
        timed.append((moment, console_login(moment, user, office_ips[user], True, rng)))
    for _ in range(1500):  # instances talk to a few services each
        moment = start + timedelta(seconds=rng.uniform(0, 360))
        instance, address = rng.choice(instances)
        port, protocol = rng.choice(SERVICES)
        timed.append((moment, flow_record(moment, instance, address, f"10.0.9.{rng.randint(2, 40)}", port, protocol,
                                          "ACCEPT", rng)))
    attack_at = start + timedelta(seconds=60)
    for n in range(12):  # brute force: twelve failed sign-ins as admin from one address in two minutes
        moment = attack_at + timedelta(seconds=n * 10)
        timed.append((moment, console_login(moment, "admin", BRUTE_FORCE_IP, False, rng)))
    scan_at = start + timedelta(seconds=150)
    for n, port in enumerate(rng.sample(range(1, 1024), 40)):  # port scan: 40 ports of one host in 40 seconds
        moment = scan_at + timedelta(seconds=n)
        timed.append((moment, flow_record(moment, *SCANNER, "10.0.1.5", port, 6, "REJECT", rng)))
    creds_at = start + timedelta(seconds=240)
    user, ip = COMPROMISED
    for n in range(4):  # four failures, then the password works
        moment = creds_at + timedelta(seconds=n * 15)
        timed.append((moment, console_login(moment, user, ip, False, rng)))
    moment = creds_at + timedelta(seconds=75)
    timed.append((moment, console_login(moment, user, ip, True, rng)))
    timed.sort(key=lambda pair: pair[0])
    return Scenario(
        entries=[entry for _, entry in timed],
        attacks=[Attack("brute-force-login", {"detail.sourceIp": BRUTE_FORCE_IP}, f"blocked {BRUTE_FORCE_IP}"),
                 Attack("port-scan", {"detail.instanceId": SCANNER[0], "detail.srcIp": SCANNER[1]},
                        f"isolated {SCANNER[0]}"),
                 Attack("compromised-credentials", {"detail.user": user}, f"disabled {user}")],
    )


def _entry(source: str, detail_type: str, moment: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    return {"EventBusName": "ingest", "Source": source, "DetailType": detail_type, "Time": moment,
            "Detail": json.dumps(detail), "Resources": []}


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
