"""The file workflow's three functions: AWS Lambda handlers, unchanged (nothing here imports busbar).

- `validate` gets S3's "Object Created" event from EventBridge and checks the upload: a `.csv`
  of sales lines, not empty, not too large, with the expected columns and well-formed rows.
  It raises `InvalidUpload` naming what is wrong (the function fails; its OnFailure destination
  tells the administrators), or returns what it found (its OnSuccess destination goes on).
- `process` gets the validated upload (validate's response), totals it per region and writes
  the result next to it, under `processed/`.
- `notify` gets process's response and composes the message for the people who uploaded it.

S3 itself is stood in for by a directory (BUCKET_ROOT, default `<tmp>/busbar-example-buckets`,
holding `<bucket>/<key>`), so the example runs anywhere; on AWS these reads and writes would be
`s3.get_object` / `s3.put_object`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

COLUMNS = ("date", "region", "sku", "quantity", "amount")
DEFAULT_MAX_BYTES = 1 << 20


class InvalidUpload(Exception):
    """The upload cannot be processed as it is; the message says why."""


def object_path(bucket: str, key: str) -> Path:
    root = os.environ.get("BUCKET_ROOT") or os.path.join(tempfile.gettempdir(), "busbar-example-buckets")
    return Path(root) / bucket / key


def result_key(key: str) -> str:
    """Where process writes an upload's totals: incoming/a/b.csv -> processed/a/b.json."""
    return "processed/" + key.removeprefix("incoming/").removesuffix(".csv") + ".json"


def validate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event["detail"]
    bucket, key, size = detail["bucket"]["name"], detail["object"]["key"], detail["object"]["size"]
    limit = int(os.environ.get("MAX_UPLOAD_BYTES", DEFAULT_MAX_BYTES))
    if not key.endswith(".csv"):
        raise InvalidUpload(f"s3://{bucket}/{key}: only .csv files are accepted")
    if not 0 < size <= limit:
        raise InvalidUpload(f"s3://{bucket}/{key}: {size} bytes; an upload holds 1 to {limit} bytes")
    rows = _rows(bucket, key)
    return {"bucket": bucket, "key": key, "size": size, "etag": detail["object"].get("etag"), "rows": len(rows),
            "validatedBy": context.aws_request_id}


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket, key = event["bucket"], event["key"]
    regions: dict[str, dict[str, Decimal | int]] = defaultdict(lambda: {"units": 0, "amount": Decimal(0)})
    for row in _rows(bucket, key):
        totals = regions[row["region"]]
        totals["units"] += int(row["quantity"])
        totals["amount"] += Decimal(row["amount"])
    summary = {region: {"units": totals["units"], "amount": str(totals["amount"])}
               for region, totals in sorted(regions.items())}
    revenue = str(sum((Decimal(totals["amount"]) for totals in summary.values()), Decimal(0)))
    result = object_path(bucket, result_key(key))
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_text(json.dumps({"source": f"s3://{bucket}/{key}", "regions": summary, "revenue": revenue}))
    return {"bucket": bucket, "key": key, "resultKey": result_key(key), "rows": event["rows"], "regions": summary,
            "revenue": revenue}


def notify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    regions = ", ".join(f"{region} {totals['amount']}" for region, totals in event["regions"].items())
    return {
        "subject": f"Processed {event['key']}",
        "message": f"{event['rows']} sales lines, revenue {event['revenue']} ({regions}). "
                   f"Result: s3://{event['bucket']}/{event['resultKey']}",
        "bucket": event["bucket"],
        "key": event["key"],
        "revenue": event["revenue"],
    }


def _rows(bucket: str, key: str) -> list[dict[str, str]]:
    """The upload's rows, each checked; InvalidUpload names the first problem."""
    where = f"s3://{bucket}/{key}"
    try:
        text = object_path(bucket, key).read_text()
    except FileNotFoundError:
        raise InvalidUpload(f"{where}: no such object") from None
    except UnicodeDecodeError:
        raise InvalidUpload(f"{where}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise InvalidUpload(f"{where}: missing column(s) {', '.join(missing)}")
    rows = list(reader)
    for line, row in enumerate(rows, start=2):
        try:
            date.fromisoformat(row["date"])
            amount = Decimal(row["amount"])
            if int(row["quantity"]) <= 0 or not amount.is_finite() or amount < 0:
                raise ValueError
        except (ValueError, TypeError, InvalidOperation):
            raise InvalidUpload(f"{where}: line {line}: not a sale (date, positive quantity, amount): "
                                f"{','.join(str(row.get(column)) for column in COLUMNS)}") from None
    if not rows:
        raise InvalidUpload(f"{where}: no sales lines")
    return rows
