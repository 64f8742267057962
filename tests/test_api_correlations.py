"""Correlation rules through busbar's own API operations, the CLI and `busbar apply`, on a real worker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from click.testing import CliRunner

from streams.busbar_client import BusbarClient
from streams.cli import cli
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for, raw_post

pytestmark = pytest.mark.kafka


def definition(bus: str, **changes: object) -> dict:
    return {"name": "brute-force", "bus": bus, "type": "event_count", "pattern": {"detail-type": ["Login Failed"]},
            "group-by": ["detail.sourceIPAddress"], "timespan": "5m", "condition": {"gte": 5}, **changes}


def test_put_describe_list_delete(busbar_worker: WorkerProcess) -> None:
    bus = unique("corr")
    client_for(busbar_worker.url).create_event_bus(Name=bus)
    busbar = BusbarClient(busbar_worker.url, "us-east-1", Credentials("test", "test"))
    stored = busbar.put_correlation(definition(bus))["Correlation"]
    assert stored == {**definition(bus), "lateness": "30s"}
    assert busbar.describe_correlation("brute-force", bus)["Correlation"] == stored
    assert busbar.list_correlations(bus) == [stored]
    assert busbar.delete_correlation("brute-force", bus) == {}
    with pytest.raises(ClientError) as missing:
        busbar.describe_correlation("brute-force", bus)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(("changes", "message"), [
    ({"condition": {"atleast": 5}}, "condition: 'atleast' is not an operator"),
    ({"timespan": "5 min"}, "timespan: '5 min' is not a duration"),
    ({"group-by": "detail..ip"}, "group-by: 'detail..ip' is not a field path"),
    ({"pattern": {"source": "x"}}, "pattern: Event pattern is not valid"),
])
def test_invalid_definitions_are_refused_naming_the_key(busbar_worker: WorkerProcess, changes: dict,
                                                        message: str) -> None:
    busbar = BusbarClient(busbar_worker.url, "us-east-1", Credentials("test", "test"))
    with pytest.raises(ClientError) as refused:
        busbar.put_correlation(definition("default", **changes))
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith(f"Correlation rule is not valid: {message}")


def test_missing_buses_and_unknown_operations(busbar_worker: WorkerProcess) -> None:
    busbar = BusbarClient(busbar_worker.url, "us-east-1", Credentials("test", "test"))
    with pytest.raises(ClientError, match="Event bus nowhere does not exist"):
        busbar.put_correlation(definition("nowhere"))
    with pytest.raises(ClientError, match="emit.bus: Event bus nowhere does not exist"):
        busbar.put_correlation(definition("default", emit={"bus": "nowhere"}))
    status, body, _ = raw_post(busbar_worker.url, b"{}", target="Busbar.FlyAway")
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_cli_and_apply(busbar_worker: WorkerProcess, tmp_path: Path) -> None:
    bus = unique("corr")
    env = {"BUSBAR_ENDPOINT_URL": busbar_worker.url}
    runner = CliRunner()
    declaration = tmp_path / "busbar.yaml"
    declaration.write_text(f"""
buses:
  - name: {bus}
correlations:
  - name: port-scan
    bus: {bus}
    type: value_count
    pattern: {{detail-type: [VPC Flow]}}
    group-by: [detail.srcaddr]
    timespan: 1m
    condition: {{gte: 20, field: detail.dstport}}
""")
    first = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"bus {bus}: created", f"correlation {bus}/port-scan: created"]
    again = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert again.output.splitlines()[-1] == f"correlation {bus}/port-scan: unchanged"
    shown = json.loads(runner.invoke(cli, ["correlations", "describe", "port-scan", "--bus", bus], env=env).output)
    assert shown["Correlation"]["field"] == "detail.dstport" and shown["Correlation"]["condition"] == {"gte": 20}
    put = runner.invoke(cli, ["correlations", "put", json.dumps(definition(bus))], env=env)
    assert put.exit_code == 0, put.output
    listed = json.loads(runner.invoke(cli, ["correlations", "list", "--bus", bus], env=env).output)
    assert [rule["name"] for rule in listed["Correlations"]] == ["brute-force", "port-scan"]
    refused = runner.invoke(cli, ["correlations", "put", json.dumps(definition(bus, timespan="soon"))], env=env)
    assert refused.exit_code == 1 and "timespan: 'soon' is not a duration" in refused.output
    declaration.write_text(declaration.read_text().replace("timespan: 1m", "timespan: 1 minute"))
    invalid = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert invalid.exit_code == 2
    assert "correlations[0] (port-scan): timespan: '1 minute' is not a duration" in invalid.output
    deleted = runner.invoke(cli, ["correlations", "delete", "port-scan", "--bus", bus], env=env)
    assert deleted.output.strip() == f"deleted correlation {bus}/port-scan"
