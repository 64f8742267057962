"""`busbar connectors ...`: the Kafka Connect REST API from the command line.

Each subcommand is one REST call, signed like the EventBridge commands, printing the answer's
JSON. Exit codes as the other API commands: 1 when the server refused, 2 for bad input.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from streams.cli.api_commands import endpoint_options, json_arg


def _call(endpoint_url: str, region: str, method: str, path: str, body: Any = None) -> None:
    from streams.connect_client import ConnectClient, ConnectError

    try:
        answer = ConnectClient(endpoint_url, region).call(method, path, body)
    except ConnectError as exc:
        raise click.ClickException(exc.message if exc.status == 0 else f"{exc.status}: {exc.message}") from None
    if answer is not None:
        click.echo(json.dumps(answer, indent=2))


def _path(name: str, tail: str = "") -> str:
    return f"/connectors/{quote(name, safe='')}{tail}"


@click.group()
def connectors() -> None:
    """Connectors (webhook sources, cross-cluster mirrors), the Kafka Connect way."""


@connectors.command("list")
@click.option("--expand", type=click.Choice(["status", "info"]), multiple=True, help="Include status and/or info.")
@endpoint_options
def connectors_list(endpoint_url: str, region: str, expand: tuple[str, ...]) -> None:
    """GET /connectors."""
    query = "&".join(f"expand={item}" for item in expand)
    _call(endpoint_url, region, "GET", "/connectors" + (f"?{query}" if query else ""))


@connectors.command("create")
@click.argument("name")
@click.argument("config")
@endpoint_options
def connectors_create(endpoint_url: str, region: str, name: str, config: str) -> None:
    """POST /connectors: CONFIG is a JSON object (inline or a file), e.g.
    '{"connector.class": "GitHubWebhook", "bus": "default", "webhook.secret": "..."}'."""
    _call(endpoint_url, region, "POST", "/connectors", {"name": name, "config": json_arg(config, "CONFIG")})


@connectors.command("config")
@click.argument("name")
@click.argument("config", required=False)
@endpoint_options
def connectors_config(endpoint_url: str, region: str, name: str, config: str | None) -> None:
    """GET /connectors/NAME/config, or PUT it (creating or updating) when CONFIG is given."""
    if config is None:
        _call(endpoint_url, region, "GET", _path(name, "/config"))
    else:
        _call(endpoint_url, region, "PUT", _path(name, "/config"), json_arg(config, "CONFIG"))


def _simple(command: str, method: str, tail: str, doc: str) -> click.Command:
    @click.argument("name")
    @endpoint_options
    def run(endpoint_url: str, region: str, name: str) -> None:
        _call(endpoint_url, region, method, _path(name, tail))
    run.__doc__ = doc
    return connectors.command(command)(run)


for _command, _method, _tail, _doc in [
    ("get", "GET", "", "GET /connectors/NAME: its config and tasks."),
    ("status", "GET", "/status", "GET /connectors/NAME/status: the connector's and its tasks' states."),
    ("pause", "PUT", "/pause", "PUT /connectors/NAME/pause."),
    ("resume", "PUT", "/resume", "PUT /connectors/NAME/resume."),
    ("restart", "POST", "/restart", "POST /connectors/NAME/restart: its tasks restart."),
    ("delete", "DELETE", "", "DELETE /connectors/NAME."),
]:
    _simple(_command, _method, _tail, _doc)


@connectors.command("plugins")
@endpoint_options
def connectors_plugins(endpoint_url: str, region: str) -> None:
    """GET /connector-plugins: the connector classes this busbar runs."""
    _call(endpoint_url, region, "GET", "/connector-plugins")


@connectors.command("validate")
@click.argument("plugin")
@click.argument("config")
@endpoint_options
def connectors_validate(endpoint_url: str, region: str, plugin: str, config: str) -> None:
    """PUT /connector-plugins/PLUGIN/config/validate: every key's errors, without creating anything."""
    values = {"connector.class": plugin, **json_arg(config, "CONFIG")}
    _call(endpoint_url, region, "PUT", f"/connector-plugins/{quote(plugin, safe='')}/config/validate", values)


COMMANDS = [connectors]
