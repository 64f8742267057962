"""Commands that run busbar itself: `up`, `worker`, `api`, `deliver`, `fetch-kafka`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from streams.embedded_kafka import EmbeddedKafkaError, fetch_jars
from streams.settings import SETTINGS, Settings

# flag name -> settings key; a flag writes its BUSBAR_* variable so child workers inherit it
SERVER_FLAGS: list[tuple[str, str, type]] = [
    ("--kafka", "kafka_bootstrap", str),
    ("--port", "port", int),
    ("--host", "host", str),
    ("--broker-port", "broker_port", int),
    ("--data-dir", "data_dir", str),
    ("--topic-prefix", "topic_prefix", str),
    ("--region", "region", str),
    ("--account-id", "account", str),
]


def server_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for flag, key, kind in reversed(SERVER_FLAGS):
        spec = SETTINGS[key]
        func = click.option(flag, key, type=kind, default=None,
                            help=f"{spec.help} [env {spec.env}, default {spec.default or 'none'}]")(func)
    return func


def apply_flags(values: dict[str, Any]) -> Settings:
    for _, key, _ in SERVER_FLAGS:
        if values.get(key) is not None:
            os.environ[SETTINGS[key].env] = str(values[key])
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@server_options
@click.option("--api-processes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also run this many API processes (`busbar api`) sharing --api-port: PutEvents ingest "
                   "then scales with cores.")
@click.option("--api-port", type=int, default=None, help="Port of the API processes [default: --port + 1].")
@click.option("--delivery-processes", type=click.IntRange(min=0), default=0, show_default=True,
              help="Deliver in this many processes (`busbar deliver`) instead of the worker: its router then "
                   "keeps its CPU under HTTP targets.")
@click.option("--delivery-port", type=int, default=None,
              help="Port of the delivery processes' /health and /metrics [default: --port + 2].")
def up(api_processes: int, api_port: int | None, delivery_processes: int, delivery_port: int | None,
       **values: Any) -> None:
    """Run busbar in the foreground: the embedded Kafka broker (unless --kafka), topics, one worker."""
    from streams.up import SideProcesses, UpError, run_up

    settings = apply_flags(values)
    sides = [SideProcesses("api", api_processes, api_port or settings.port + 1, "--api-port", "API processes",
                           "PutEvents scales here")] if api_processes else []
    if delivery_processes:
        sides.append(SideProcesses("deliver", delivery_processes, delivery_port or settings.port + 2,
                                   "--delivery-port",
                                   "delivery processes", "/health and /metrics; they deliver, not the worker"))
    try:
        sys.exit(run_up(settings, sides))
    except UpError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@server_options
def worker(**values: Any) -> None:
    """Run one worker against an existing cluster; start more with the same app id to scale out."""
    settings = apply_flags(values)
    if settings.embedded:
        raise click.ClickException("busbar worker needs --kafka or BUSBAR_KAFKA_BOOTSTRAP (`busbar up` starts a broker)")
    from faust.worker import Worker

    from streams.app import app
    from streams.topics import ensure_internal_topics

    ensure_internal_topics(settings)

    runner = Worker(app, loglevel=settings.log_level)
    if not sys.stdout.isatty():
        # Faust's startup spinner writes cursor control sequences and a closing " OK ^" also
        # into files and pipes (`busbar up > log`, make); outside a terminal it has nothing to show.
        runner.spinner = None
    runner.execute_from_commandline()


def processes_option(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--processes", type=click.IntRange(min=1), default=1, show_default=True,
                        help=f"{kind} processes to run, all on --port (SO_REUSEPORT: the kernel spreads "
                             "connections).")


def run_side(command: str, settings: Settings, run: Callable[[Settings, int], int], processes: int) -> None:
    """A side process (`busbar api`, `busbar deliver`) against an existing cluster, with its topics."""
    if settings.embedded:
        raise click.ClickException(f"busbar {command} needs --kafka or BUSBAR_KAFKA_BOOTSTRAP "
                                   "(`busbar up` starts a broker)")
    import logging

    from streams.topics import ensure_internal_topics

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ensure_internal_topics(settings)
    sys.exit(run(settings, processes))


@click.command()
@server_options
@processes_option("API")
def api(processes: int, **values: Any) -> None:
    """Run the EventBridge API alone (no routing), beside workers: ingest scales with processes."""
    from streams.api_process import run

    run_side("api", apply_flags(values), run, processes)


@click.command()
@server_options
@processes_option("Delivery")
def deliver(processes: int, **values: Any) -> None:
    """Run the delivery service alone (API destinations, other clusters, functions, retries), beside
    workers started with BUSBAR_WORKER_DELIVERY=0: their routers then keep their CPU."""
    from streams.delivery_process import run

    run_side("deliver", apply_flags(values), run, processes)


@click.command("fetch-kafka")
@click.option("--lib-dir", type=click.Path(path_type=Path), default=None, help="Where to put the jars.")
def fetch_kafka(lib_dir: Path | None) -> None:
    """Fetch the embedded Apache Kafka broker's jars with Maven (once)."""
    target = lib_dir or Settings.from_env().kafka_lib
    try:
        fetch_jars(target)
    except EmbeddedKafkaError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Kafka jars ready in {target}")


COMMANDS = [up, worker, api, deliver, fetch_kafka]
