"""`busbar correlations ...`: list, put, describe and delete correlation rules on a running busbar."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from streams.cli.api_commands import api_call, emit, endpoint_options, make_busbar_client

bus_option = click.option("--bus", default="default", show_default=True, help="Event bus name.")


@click.group()
def correlations() -> None:
    """List, put, describe and delete correlation rules (counts and sequences of events over time)."""


@correlations.command("list")
@endpoint_options
@click.option("--bus", default=None, help="Only this bus's rules (default: every bus's).")
@api_call
def correlations_list(endpoint_url: str, region: str, bus: str | None) -> None:
    """List correlation rules."""
    emit({"Correlations": make_busbar_client(endpoint_url, region).list_correlations(bus)})


@correlations.command("put")
@endpoint_options
@click.argument("definition")
@api_call
def correlations_put(endpoint_url: str, region: str, definition: str) -> None:
    """Create or replace a rule from DEFINITION: YAML or JSON, inline or a file path."""
    text = Path(definition).read_text() if Path(definition).is_file() else definition
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"not YAML or JSON (nor a file holding it): {exc}", param_hint="DEFINITION") from None
    emit(make_busbar_client(endpoint_url, region).put_correlation(parsed))


@correlations.command("describe")
@endpoint_options
@bus_option
@click.argument("name")
@api_call
def correlations_describe(endpoint_url: str, region: str, bus: str, name: str) -> None:
    """Show one rule."""
    emit(make_busbar_client(endpoint_url, region).describe_correlation(name, bus))


@correlations.command("delete")
@endpoint_options
@bus_option
@click.argument("name")
@api_call
def correlations_delete(endpoint_url: str, region: str, bus: str, name: str) -> None:
    """Delete a rule (its open windows are dropped)."""
    make_busbar_client(endpoint_url, region).delete_correlation(name, bus)
    click.echo(f"deleted correlation {bus}/{name}")


COMMANDS = [correlations]
