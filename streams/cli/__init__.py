"""The `busbar` command. Each group of subcommands lives in its own module and registers here."""

from __future__ import annotations

import click

from streams.cli import (
    api_commands,
    connect_commands,
    correlation_commands,
    dlq,
    function_commands,
    replay_commands,
    server,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="busbar")
def cli() -> None:
    """busbar: EventBridge's model (buses, rules, targets) on your own Kafka."""


for command in server.COMMANDS:
    cli.add_command(command)
for command in api_commands.COMMANDS + correlation_commands.COMMANDS + function_commands.COMMANDS:
    cli.add_command(command)
for command in (*connect_commands.COMMANDS, *replay_commands.COMMANDS):
    cli.add_command(command)
for command in dlq.COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="busbar")
