"""A client for the workers' Kafka Connect REST API, signed with SigV4 like boto3's calls.

`busbar connectors ...` and the `connectors:` section of `busbar apply` use it. Requests are
signed for the `events` service with the caller's AWS credentials (or busbar's dummy ones in
local mode), which is what the workers check when they have credentials configured.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DUMMY_CREDENTIAL = "busbar"


class ConnectError(RuntimeError):
    """The API answered an error: `status` and Kafka Connect's `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class ConnectClient:
    def __init__(self, endpoint_url: str, region: str) -> None:
        import boto3

        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region
        credentials = boto3.Session(region_name=region).get_credentials()
        if credentials is None:
            from botocore.credentials import Credentials
            credentials = Credentials(DUMMY_CREDENTIAL, DUMMY_CREDENTIAL)
        self._credentials = credentials

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON (None for an empty one); ConnectError for an error answer."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        data = None if body is None else json.dumps(body).encode()
        request = AWSRequest(method=method, url=self.endpoint_url + path, data=data,
                             headers={"Content-Type": "application/json", "Accept": "application/json"})
        SigV4Auth(self._credentials.get_frozen_credentials(), "events", self.region).add_auth(request)
        prepared = request.prepare()
        wire = urllib.request.Request(prepared.url, data=data, method=method, headers=dict(prepared.headers))
        try:
            with urllib.request.urlopen(wire, timeout=70) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                message = json.loads(payload).get("message", "")
            except (ValueError, AttributeError):
                message = payload.decode(errors="replace")[:200]
            raise ConnectError(exc.code, message) from None
        except urllib.error.URLError as exc:
            raise ConnectError(0, f"cannot reach busbar at {self.endpoint_url}: {exc.reason}") from None
        return json.loads(payload) if payload else None

    def get_config(self, name: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", f"/connectors/{name}/config")
        except ConnectError as exc:
            if exc.status == 404:
                return None
            raise
