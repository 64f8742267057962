"""Serverless workflow orchestration on busbar, end to end, against a running busbar (`make up`).

    .venv/bin/python -m examples.file_workflow.run --endpoint http://127.0.0.1:4010 --kafka 127.0.0.1:19092

Declares the workflow (workflow.yaml, through `busbar apply`), "uploads" sales files to the
`example-uploads` bucket (a directory standing in for S3, see handlers.py) and puts for each the
"Object Created" event S3 sends to EventBridge. Valid files run validate -> process -> notify,
chained by the functions' destinations, and end as a message on `sns.file-notifications`;
invalid ones fail validation and end as an alert on `sns.file-admin-alerts`. Checks that each
file ended where it should with the right totals or reason. Exit 0 when it did, 1 otherwise.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from examples.example_run import apply, arguments, report
from examples.file_workflow.handlers import object_path, result_key
from examples.topic_tail import TopicTail

HERE = Path(__file__).resolve().parent
BUCKET = "example-uploads"
NOTIFICATIONS = "sns.file-notifications"
ALERTS = "sns.file-admin-alerts"
ACCOUNT = "000000000000"
REGIONS = ("EMEA", "AMER", "APAC")


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    revenue: Decimal | None  # None: validation must refuse it
    refusal: str = ""  # what the refusal must say


def uploads(prefix: str, rng: random.Random) -> list[Upload]:
    """Three good sales files and three that validation must refuse, each for its own reason."""
    def sales(lines: int) -> tuple[list[list[str]], Decimal]:
        rows, total = [], Decimal(0)
        for n in range(lines):
            amount = Decimal(rng.randint(500, 250000)) / 100
            total += amount
            rows.append([(date(2026, 11, 1) + timedelta(days=n % 30)).isoformat(), rng.choice(REGIONS),
                         f"SKU-{rng.randint(1001, 1010)}", str(rng.randint(1, 12)), str(amount)])
        return rows, total

    def text(header: list[str], rows: list[list[str]]) -> bytes:
        return "\n".join(",".join(row) for row in [header, *rows]).encode() + b"\n"

    header = ["date", "region", "sku", "quantity", "amount"]
    made = []
    for name, lines in (("sales-week-44.csv", 40), ("sales-week-45.csv", 55), ("sales-week-46.csv", 25)):
        rows, total = sales(lines)
        made.append(Upload(f"{prefix}{name}", text(header, rows), total))
    rows, _ = sales(20)
    rows[6][4] = "n/a"
    made.append(Upload(f"{prefix}sales-week-47.csv", text(header, rows), None, "line 8: not a sale"))
    rows, _ = sales(10)
    made.append(Upload(f"{prefix}sales-week-48.csv", text(header[:2] + header[3:], [r[:2] + r[3:] for r in rows]),
                       None, "missing column(s) sku"))
    made.append(Upload(f"{prefix}sales-week-49.xlsx", b"PK\x03\x04 not really a spreadsheet", None,
                       "only .csv files are accepted"))
    return made


def upload(events: Any, item: Upload, rng: random.Random) -> None:
    """What S3 does on PutObject with EventBridge notifications on: store it, announce it."""
    path = object_path(BUCKET, item.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(item.body)
    detail = {
        "version": "0",
        "bucket": {"name": BUCKET},
        "object": {"key": item.key, "size": len(item.body), "etag": hashlib.md5(item.body).hexdigest(),
                   "sequencer": f"{rng.getrandbits(72):018X}"},
        "request-id": f"{rng.getrandbits(64):016X}",
        "requester": ACCOUNT,
        "source-ip-address": "203.0.113.41",
        "reason": "PutObject",
    }
    result = events.put_events(Entries=[{"EventBusName": "default", "Source": "aws.s3", "DetailType": "Object Created",
                                         "Resources": [f"arn:aws:s3:::{BUCKET}"], "Detail": json.dumps(detail)}])
    if result["FailedEntryCount"]:
        raise SystemExit(f"PutEvents refused the S3 notification: {result['Entries']}")


def main() -> int:
    args = arguments(__doc__, [("--seed", int, 5, "seed of the generated files")])
    events = apply(HERE / "workflow.yaml", args)
    tail = TopicTail(args.kafka, [NOTIFICATIONS, ALERTS], "file-workflow-run")
    rng = random.Random(args.seed)
    planned = uploads(f"incoming/{uuid.uuid4().hex[:8]}/", rng)  # this run's keys, apart from earlier runs'
    try:
        for item in planned:
            upload(events, item, rng)
        print(f"uploaded {len(planned)} files to s3://{BUCKET}/ (under {object_path(BUCKET, '')})", flush=True)
        outcomes = collect(tail, {item.key for item in planned}, args.timeout)
    finally:
        tail.close()
    return report(summarize(planned, outcomes), args)


def collect(tail: TopicTail, keys: set[str], timeout: float) -> dict[str, dict[str, Any]]:
    """key -> the notification or alert it ended as, until every key has one or the time is up."""
    outcomes: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and set(outcomes) < keys:
        for record in tail.poll(0.5):
            if record.topic == NOTIFICATIONS and record.value.get("key") in keys:
                outcomes[record.value["key"]] = {"notified": record.value}
                print(f"NOTIFIED  {record.value['subject']}: {record.value['message']}", flush=True)
            elif record.topic == ALERTS:
                key = _alerted_key(record.value)
                if key in keys:
                    outcomes[key] = {"alerted": record.value}
                    print(f"ALERTED   {record.value['errorType']}: {record.value['error']}", flush=True)
    return outcomes


def _alerted_key(alert: dict[str, Any]) -> str | None:
    """The upload an alert is about, whichever step failed (validate gets S3's event, the others a response)."""
    request = alert.get("request") or {}
    return request.get("detail", {}).get("object", {}).get("key") or request.get("key")


def summarize(planned: list[Upload], outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per file: how it ended (notified, alerted or nothing yet), what was expected, whether that held."""
    files = {}
    for item in planned:
        [(ended, payload)] = outcomes.get(item.key, {"nothing": {}}).items()
        if item.revenue is not None:
            expected = f"notified, revenue {item.revenue}"
            good = ended == "notified" and Decimal(payload["revenue"]) == item.revenue \
                and object_path(BUCKET, result_key(item.key)).exists()
        else:
            expected = f"alerted: {item.refusal}"
            good = ended == "alerted" and payload["errorType"] == "InvalidUpload" and item.refusal in payload["error"]
        files[item.key] = {"ended": ended, "expected": expected, "payload": payload, "ok": good}
    return {"files": files, "ok": all(file["ok"] for file in files.values())}


if __name__ == "__main__":
    sys.exit(main())
