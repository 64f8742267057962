"""Kafka Connect's REST API on a real worker: the shapes and statuses Kafka Connect answers with."""

from __future__ import annotations

import pytest

from tests.connect_support import call, wait_for
from tests.support import WorkerProcess, unique

pytestmark = pytest.mark.kafka

SECRET = "s3cr3t-value"


def github_config(bus: str = "default", **extra: str) -> dict[str, str]:
    return {"connector.class": "GitHubWebhook", "bus": bus, "webhook.secret": SECRET, **extra}


def test_plugins_are_listed(busbar_worker: WorkerProcess) -> None:
    status, plugins = call(busbar_worker.url, "GET", "/connector-plugins")
    assert status == 200
    assert {p["class"] for p in plugins} == {
        "connectors.webhooks.github.GitHubWebhook", "connectors.webhooks.stripe.StripeWebhook",
        "connectors.webhooks.hmac_webhook.HmacWebhook", "connectors.mirror.Mirror"}
    assert all(p["type"] == "source" and p["version"] for p in plugins)


def test_create_read_and_conflict(busbar_worker: WorkerProcess) -> None:
    url, name = busbar_worker.url, unique("gh")
    status, created = call(url, "POST", "/connectors", {"name": name, "config": github_config()})
    assert status == 201
    assert created["name"] == name and created["type"] == "source"
    assert created["config"]["webhook.secret"] == "[hidden]"  # never returned
    assert created["config"]["name"] == name
    assert created["tasks"] == [{"connector": name, "task": 0}]

    assert call(url, "POST", "/connectors", {"name": name, "config": github_config()}) == (
        409, {"error_code": 409, "message": f"Connector {name} already exists"})
    status, names = call(url, "GET", "/connectors")
    assert status == 200 and name in names
    status, config = call(url, "GET", f"/connectors/{name}/config")
    assert status == 200 and config["bus"] == "default" and SECRET not in str(config)
    status, info = call(url, "GET", f"/connectors/{name}")
    assert status == 200 and info["config"] == config

    running = wait_for(lambda: _state(url, name) == "RUNNING" and call(url, "GET", f"/connectors/{name}/status")[1],
                       what="connector RUNNING")
    assert running["tasks"][0]["state"] == "RUNNING" and running["tasks"][0]["worker_id"].endswith(
        f":{busbar_worker.port}")
    status, expanded = call(url, "GET", "/connectors?expand=status&expand=info")
    assert expanded[name]["status"]["connector"]["state"] == "RUNNING"
    assert expanded[name]["info"]["config"]["webhook.secret"] == "[hidden]"


def _state(url: str, name: str) -> str | None:
    status, body = call(url, "GET", f"/connectors/{name}/status")
    return body["tasks"][0]["state"] if status == 200 and body["tasks"] else None


def test_unknown_connector_is_404_on_every_path(busbar_worker: WorkerProcess) -> None:
    url, name = busbar_worker.url, unique("missing")
    expected = {"error_code": 404, "message": f"Connector {name} not found"}
    for method, path in [("GET", ""), ("GET", "/config"), ("GET", "/status"), ("PUT", "/pause"),
                         ("PUT", "/resume"), ("POST", "/restart"), ("DELETE", "")]:
        assert call(url, method, f"/connectors/{name}{path}") == (404, expected), (method, path)


def test_invalid_configs_name_each_bad_key(busbar_worker: WorkerProcess) -> None:
    url = busbar_worker.url
    status, body = call(url, "POST", "/connectors", {"name": unique("bad"), "config": {
        "connector.class": "GitHubWebhook", "bus": "no-such-bus", "webhook.max.bytes": "lots"}})
    assert status == 400 and body["error_code"] == 400
    assert "contains the following 3 error(s)" in body["message"]
    assert 'Missing required configuration "webhook.secret"' in body["message"]
    assert "Event bus no-such-bus does not exist." in body["message"]
    assert "Invalid value lots for configuration webhook.max.bytes" in body["message"]

    status, body = call(url, "POST", "/connectors", {"name": unique("bad"), "config": {"connector.class": "Nope"}})
    assert status == 400 and "Failed to find any class that implements Connector and which name matches Nope" in \
        body["message"]
    assert call(url, "POST", "/connectors", {"config": github_config()})[0] == 400
    status, body = call(url, "POST", "/connectors", raw=b"{not json")
    assert status == 400 and body["error_code"] == 400
    name = unique("mismatch")
    status, body = call(url, "PUT", f"/connectors/{name}/config", {**github_config(), "name": "other"})
    assert status == 400 and "doesn't match connector name in the URL" in body["message"]


def test_validate_reports_every_key(busbar_worker: WorkerProcess) -> None:
    url = busbar_worker.url
    status, report = call(url, "PUT", "/connector-plugins/StripeWebhook/config/validate",
                          {"connector.class": "StripeWebhook", "bus": "default", "webhook.secret": "x",
                           "webhook.tolerance.seconds": "-5"})
    assert status == 200
    assert report["name"] == "connectors.webhooks.stripe.StripeWebhook" and report["error_count"] == 1
    values = {c["value"]["name"]: c["value"] for c in report["configs"]}
    assert values["webhook.tolerance.seconds"]["errors"] == [
        "Invalid value -5 for configuration webhook.tolerance.seconds: Value must be at least 0"]
    assert values["webhook.secret"]["value"] == "[hidden]" and values["bus"]["errors"] == []
    status, body = call(url, "PUT", "/connector-plugins/StripeWebhook/config/validate",
                        {"connector.class": "GitHubWebhook"})
    assert status == 400 and "does not match request type StripeWebhook" in body["message"]


def test_put_config_pause_resume_restart_delete(busbar_worker: WorkerProcess) -> None:
    url, name = busbar_worker.url, unique("life")
    status, created = call(url, "PUT", f"/connectors/{name}/config", github_config())
    assert status == 201 and created["name"] == name
    # The hidden secret sent back keeps the stored one: the connector still verifies with it.
    status, updated = call(url, "PUT", f"/connectors/{name}/config",
                           {**github_config(), "webhook.secret": "[hidden]", "webhook.max.bytes": "2048"})
    assert status == 200 and updated["config"]["webhook.max.bytes"] == "2048"
    wait_for(lambda: _state(url, name) == "RUNNING", what="RUNNING")

    assert call(url, "PUT", f"/connectors/{name}/pause") == (202, None)
    wait_for(lambda: _state(url, name) == "PAUSED", what="PAUSED")
    assert call(url, "GET", f"/connectors/{name}/status")[1]["connector"]["state"] == "PAUSED"
    status, body = call(url, "POST", f"/webhooks/{name}", {"zen": "x"})
    assert status == 503 and body["error"] == "paused"
    assert call(url, "PUT", f"/connectors/{name}/resume") == (202, None)
    wait_for(lambda: _state(url, name) == "RUNNING", what="RUNNING again")
    assert call(url, "POST", f"/connectors/{name}/restart") == (204, None)
    status, body = call(url, "POST", f"/connectors/{name}/restart?includeTasks=true")
    assert status == 202 and body["name"] == name

    assert call(url, "DELETE", f"/connectors/{name}") == (204, None)
    assert call(url, "GET", f"/connectors/{name}")[0] == 404
    assert name not in call(url, "GET", "/connectors")[1]
