"""`busbar connectors ...` and the `connectors:` section of `busbar apply`, against real workers,
one of them with credentials configured (so the REST API wants SigV4, as the EventBridge API does)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from streams.cli import cli
from tests.connect_support import call, github_signature
from tests.support import WorkerProcess, credentialed, unique

pytestmark = pytest.mark.kafka

KEY_ID, SECRET = "AKIDCONNECTEXAMPLE", "connect/secret/key"


def run(url: str, *args: str, key: str = "busbar", secret: str = "busbar") -> Result:
    return CliRunner().invoke(cli, list(args), env={"BUSBAR_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": key,
                                                    "AWS_SECRET_ACCESS_KEY": secret, "GH_SECRET": "from-env"})


@pytest.fixture(scope="module")
def locked_worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    with credentialed(kafka_bootstrap, worker_logs, KEY_ID, SECRET) as worker:
        yield worker


def test_cli_round_trip(busbar_worker: WorkerProcess) -> None:
    url, name = busbar_worker.url, unique("cli")
    config = json.dumps({"connector.class": "GitHubWebhook", "bus": "default", "webhook.secret": "x"})
    created = run(url, "connectors", "create", name, config)
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["config"]["webhook.secret"] == "[hidden]"
    assert name in json.loads(run(url, "connectors", "list").output)
    again = run(url, "connectors", "create", name, config)
    assert again.exit_code == 1 and f"409: Connector {name} already exists" in again.output
    assert run(url, "connectors", "pause", name).exit_code == 0
    assert json.loads(run(url, "connectors", "get", name).output)["name"] == name
    invalid = run(url, "connectors", "validate", "Mirror", '{"target.region": "x"}')
    assert invalid.exit_code == 0 and json.loads(invalid.output)["error_count"] == 1  # target.cluster missing
    assert run(url, "connectors", "delete", name).exit_code == 0
    missing = run(url, "connectors", "status", name)
    assert missing.exit_code == 1 and f"404: Connector {name} not found" in missing.output


def test_apply_declares_connectors(busbar_worker: WorkerProcess, tmp_path: Path) -> None:
    url, name = busbar_worker.url, unique("applied")
    declaration = tmp_path / "busbar.yaml"
    declaration.write_text(f"""
connectors:
  - name: {name}
    config:
      connector.class: GitHubWebhook
      bus: default
      webhook.secret: ${{GH_SECRET}}
      webhook.max.bytes: 4096
""")
    first = run(url, "apply", str(declaration))
    assert first.exit_code == 0 and f"connector {name}: created" in first.output, first.output
    assert run(url, "apply", str(declaration)).output.strip() == f"connector {name}: unchanged"
    declaration.write_text(declaration.read_text().replace("4096", "8192"))
    assert f"connector {name}: updated (webhook.max.bytes changed)" in run(url, "apply", str(declaration)).output
    body = b'{"ok": true}'  # the secret came from the environment: a request signed with it passes
    status, _ = call(url, "POST", f"/webhooks/{name}", raw=body,
                     headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": github_signature("from-env", body)})
    assert status == 200


def test_rest_api_wants_sigv4_when_credentials_are_configured(locked_worker: WorkerProcess) -> None:
    url, name = locked_worker.url, unique("locked")
    status, body = call(url, "GET", "/connectors")
    assert status == 401 and body["error_code"] == 401 and "MissingAuthenticationToken" in body["message"]
    wrong = run(url, "connectors", "list", key=KEY_ID, secret="not-it")
    assert wrong.exit_code == 1 and "401: InvalidSignatureException" in wrong.output
    config = json.dumps({"connector.class": "GitHubWebhook", "bus": "default", "webhook.secret": "hook"})
    assert run(url, "connectors", "create", name, config, key=KEY_ID, secret=SECRET).exit_code == 0
    assert name in json.loads(run(url, "connectors", "list", key=KEY_ID, secret=SECRET).output)
    # Webhooks carry their own signatures; SigV4 is not asked of GitHub.
    payload = orjson.dumps({"zen": "ok"})
    status, _ = call(url, "POST", f"/webhooks/{name}", raw=payload,
                     headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": github_signature("hook", payload)})
    assert status == 200
