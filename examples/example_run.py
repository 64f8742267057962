"""What every example's run.py does around its own scenario: its flags, declaring its resources
with `busbar apply`, a boto3 EventBridge client, and reporting the summary it checked."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3


def arguments(doc: str | None, extra: list[tuple[str, type, Any, str]]) -> argparse.Namespace:
    """The flags every run takes, plus the example's own (flag, type, default, help)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:4010", help="busbar's API")
    parser.add_argument("--kafka", default="127.0.0.1:19092", help="busbar's Kafka (make up prints it)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for every outcome")
    parser.add_argument("--summary-json", type=Path, help="also write the summary here")
    for flag, kind, default, text in extra:
        parser.add_argument(flag, type=kind, default=default, help=text)
    return parser.parse_args()


def apply(declaration: Path, args: argparse.Namespace) -> Any:
    """Declares the example's resources and answers an EventBridge client for the rest."""
    subprocess.run([sys.executable, "-m", "streams", "apply", str(declaration), "--endpoint-url", args.endpoint,
                    "--region", args.region], check=True)
    return boto3.client("events", endpoint_url=args.endpoint, region_name=args.region,
                        aws_access_key_id="example", aws_secret_access_key="example")


def report(summary: dict[str, Any], args: argparse.Namespace) -> int:
    """Prints the summary (and writes it when asked); the exit code says whether it held."""
    print(json.dumps(summary, indent=2))
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary))
    return 0 if summary["ok"] else 1
