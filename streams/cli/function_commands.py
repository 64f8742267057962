"""`busbar functions ...`: list, describe and delete the functions of a running busbar.

Functions are declared in a `busbar apply` file (its `functions:` section), where their
handlers can be checked for importability before they are stored.
"""

from __future__ import annotations

import click

from streams.cli.api_commands import api_call, emit, endpoint_options, make_busbar_client


@click.group()
def functions() -> None:
    """List, describe and delete functions (Python handlers run as rule targets)."""


@functions.command("list")
@endpoint_options
@api_call
def functions_list(endpoint_url: str, region: str) -> None:
    """List functions."""
    emit({"Functions": make_busbar_client(endpoint_url, region).list_functions()})


@functions.command("describe")
@endpoint_options
@click.argument("name")
@api_call
def functions_describe(endpoint_url: str, region: str, name: str) -> None:
    """Show one function."""
    emit(make_busbar_client(endpoint_url, region).get_function(name))


@functions.command("delete")
@endpoint_options
@click.argument("name")
@api_call
def functions_delete(endpoint_url: str, region: str, name: str) -> None:
    """Delete a function (events already routed to it are dead-lettered with the reason)."""
    make_busbar_client(endpoint_url, region).delete_function(name)
    click.echo(f"deleted function {name}")


COMMANDS = [functions]
