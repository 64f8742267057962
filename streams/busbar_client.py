"""A client for busbar's own operations (correlation rules, functions), beside boto3's events client.

They are not in botocore's EventBridge model, so boto3 cannot call them; this sends them the
way botocore sends the events API (AWS JSON 1.1, `X-Amz-Target: Busbar.<Operation>`, signed
with SigV4 for the `events` service) and raises botocore's ClientError for a refusal, so
callers handle both clients' errors alike. Users' code can call them the same way (README).
"""

from __future__ import annotations

import json
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError

CONTENT_TYPE = "application/x-amz-json-1.1"
TIMEOUT_S = 60.0


class BusbarClient:
    def __init__(self, endpoint_url: str, region: str, credentials: Credentials | None) -> None:
        self.endpoint_url = endpoint_url.rstrip("/") + "/"
        self.region = region
        self.credentials = credentials
        self._http = urllib3.PoolManager(timeout=TIMEOUT_S, retries=False)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        request = AWSRequest(method="POST", url=self.endpoint_url, data=body,
                             headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"Busbar.{operation}"})
        if self.credentials is not None:
            SigV4Auth(self.credentials, "events", self.region).add_auth(request)
        try:
            response = self._http.request("POST", self.endpoint_url, body=body, headers=dict(request.headers.items()))
        except urllib3.exceptions.HTTPError as exc:
            raise EndpointConnectionError(endpoint_url=self.endpoint_url, error=exc) from None
        answer = json.loads(response.data or b"{}")
        if response.status >= 400:
            error = {"Code": answer.get("__type", "InternalException"), "Message": answer.get("message", "")}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": response.status}}, operation)
        return answer

    def put_correlation(self, definition: dict[str, Any]) -> dict[str, Any]:
        return self.call("PutCorrelation", definition)

    def describe_correlation(self, name: str, bus: str = "default") -> dict[str, Any]:
        return self.call("DescribeCorrelation", {"name": name, "bus": bus})

    def list_correlations(self, bus: str | None = None) -> list[dict[str, Any]]:
        return self.call("ListCorrelations", {} if bus is None else {"bus": bus})["Correlations"]

    def delete_correlation(self, name: str, bus: str = "default") -> dict[str, Any]:
        return self.call("DeleteCorrelation", {"name": name, "bus": bus})

    def put_function(self, definition: dict[str, Any]) -> dict[str, Any]:
        return self.call("PutFunction", definition)

    def get_function(self, name: str) -> dict[str, Any]:
        return self.call("GetFunction", {"FunctionName": name})

    def list_functions(self) -> list[dict[str, Any]]:
        return self.call("ListFunctions", {})["Functions"]

    def delete_function(self, name: str) -> dict[str, Any]:
        return self.call("DeleteFunction", {"FunctionName": name})
