"""The API commands of the `busbar` CLI against a running worker (and Kafka, for tail)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.cli import cli
from tests.support import ROOT, WorkerProcess, unique
from tests.test_api_support import client_for

pytestmark = pytest.mark.kafka

EVENT = {"id": "1", "account": "0", "source": "shop", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
         "resources": [], "detail-type": "Order", "detail": {"total": 150}}


Run = Callable[..., Result]


@pytest.fixture
def run(busbar_worker: WorkerProcess) -> Run:
    """`busbar ARGS...` in-process, pointed at the test worker through BUSBAR_ENDPOINT_URL."""

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env={"BUSBAR_ENDPOINT_URL": busbar_worker.url})

    return invoke


def test_test_pattern_exit_codes(tmp_path: Path) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text(json.dumps({"detail": {"total": [{"numeric": [">", 100]}]}}))
    runner = CliRunner()
    matched = runner.invoke(cli, ["test-pattern", str(pattern), json.dumps(EVENT)])
    assert (matched.exit_code, matched.output.strip()) == (0, "true")
    missed = runner.invoke(cli, ["test-pattern", str(pattern), json.dumps({**EVENT, "detail": {"total": 1}})])
    assert (missed.exit_code, missed.output.strip()) == (1, "false")
    invalid = runner.invoke(cli, ["test-pattern", '{"detail": {"total": 5}}', json.dumps(EVENT)])
    assert invalid.exit_code == 2
    assert "detail.total" in invalid.output
    not_json = runner.invoke(cli, ["test-pattern", "{oops", json.dumps(EVENT)])
    assert not_json.exit_code == 2


def test_buses_rules_targets(run: Run) -> None:
    bus = unique("cli")
    assert run("buses", "create", bus, "--description", "from the CLI").exit_code == 0
    assert bus in [b["Name"] for b in json.loads(run("buses", "list", "--prefix", bus).output)["EventBuses"]]
    put = run("rules", "put", "big", "--bus", bus, "--pattern", '{"source": ["shop"]}')
    assert put.exit_code == 0, put.output
    assert json.loads(run("rules", "describe", "big", "--bus", bus).output)["State"] == "ENABLED"
    assert run("rules", "disable", "big", "--bus", bus).exit_code == 0
    listed = json.loads(run("rules", "list", "--bus", bus).output)["Rules"]
    assert [(r["Name"], r["State"]) for r in listed] == [("big", "DISABLED")]

    topic = "arn:aws:kafka:us-east-1:000000000000:topic/local/cli"
    assert run("targets", "put", "big", "--bus", bus, "--id", "t1", "--arn", topic).exit_code == 0
    refused = run("targets", "put", "big", "--bus", bus, "--id", "t2", "--arn", "arn:aws:states:us-east-1:1:stateMachine:f")
    assert refused.exit_code == 1
    assert [t["Id"] for t in json.loads(run("targets", "list", "big", "--bus", bus).output)["Targets"]] == ["t1"]

    blocked = run("rules", "delete", "big", "--bus", bus)
    assert blocked.exit_code == 1
    assert blocked.output.strip().splitlines()[-1] == "Error: ValidationException: Rule can't be deleted since it has targets."
    assert run("targets", "remove", "big", "t1", "--bus", bus).exit_code == 0
    assert run("rules", "delete", "big", "--bus", bus).exit_code == 0
    assert run("buses", "delete", bus).exit_code == 0


def test_put_events(run: Run) -> None:
    ok = run("put-events", "--source", "shop", "--detail-type", "Order", "--detail", '{"total": 1}')
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["Entries"][0]["EventId"]
    failed = run("put-events", "--bus", unique("nobus"), "--source", "s", "--detail-type", "d")
    assert failed.exit_code == 1
    assert "InvalidArgument" in failed.output
    assert run("put-events", "--source", "s").exit_code == 2  # usage: no --detail-type


def test_unreachable_server_is_one_line() -> None:
    result = CliRunner().invoke(cli, ["buses", "list", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: cannot reach busbar")
    assert "Traceback" not in result.output


def test_apply_is_idempotent_and_dry_run_writes_nothing(run: Run, tmp_path: Path,
                                                        busbar_worker: WorkerProcess) -> None:
    bus = unique("apply")
    topic = "arn:aws:kafka:us-east-1:000000000000:topic/local/applied"
    declaration = tmp_path / "busbar.yaml"
    declaration.write_text(f"""
buses:
  - name: {bus}
    description: applied
    tags: {{team: checkout}}
rules:
  - name: big
    bus: {bus}
    pattern: {{source: [shop], detail: {{total: [{{numeric: [">", 100]}}]}}}}
    targets:
      - id: t1
        arn: {topic}
        input_path: $.detail
  - Name: by-api-names                      # the API's own spelling works too
    EventBusName: {bus}
    EventPattern: '{{"source": ["shop"]}}'
""")
    dry = run("apply", str(declaration), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [f"[dry run] bus {bus}: created", f"[dry run] rule {bus}/big: created (targets: +t1)",
                                       f"[dry run] rule {bus}/by-api-names: created"]
    events = client_for(busbar_worker.url)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(Name=bus)

    first = run("apply", str(declaration))
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"bus {bus}: created", f"rule {bus}/big: created (targets: +t1)",
                                         f"rule {bus}/by-api-names: created"]
    assert events.list_targets_by_rule(Rule="big", EventBusName=bus)["Targets"] == [
        {"Id": "t1", "Arn": topic, "InputPath": "$.detail"}]
    second = run("apply", str(declaration))
    assert second.output.splitlines() == [f"bus {bus}: unchanged", f"rule {bus}/big: unchanged",
                                          f"rule {bus}/by-api-names: unchanged"]
    assert events.list_tags_for_resource(ResourceARN=events.describe_event_bus(Name=bus)["Arn"])["Tags"] == [
        {"Key": "team", "Value": "checkout"}]

    declaration.write_text(declaration.read_text().replace("input_path: $.detail", "input_path: $.source"))
    third = run("apply", str(declaration))
    assert third.output.splitlines()[1] == f"rule {bus}/big: updated (targets: ~t1)"

    declaration.write_text("rules: [{pattern: {}}]")
    invalid = run("apply", str(declaration))
    assert invalid.exit_code == 2
    assert "name" in invalid.output


def test_tail_shows_a_put_event(busbar_worker: WorkerProcess) -> None:
    bus = unique("tail")
    events = client_for(busbar_worker.url)
    events.create_event_bus(Name=bus)
    tail = subprocess.Popen(
        [sys.executable, "-m", "streams", "tail", bus, "--kafka", busbar_worker.bootstrap,
         "--topic-prefix", busbar_worker.prefix, "--pattern", '{"source": ["wanted"]}', "--count", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert tail.stderr is not None and "following" in tail.stderr.readline()
        entries = [{"EventBusName": bus, "Source": source, "DetailType": "d", "Detail": "{}"}
                   for source in ("unwanted", "wanted")]
        wanted_id = events.put_events(Entries=entries)["Entries"][1]["EventId"]
        out, _ = tail.communicate(timeout=30)
    finally:
        tail.kill()
    assert tail.returncode == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [wanted_id]


def tail(kafka_bootstrap: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["tail", "--kafka", kafka_bootstrap, "--from-beginning", *args])


def test_tail_a_bus_and_a_target_topic(kafka_bootstrap: str, busbar_worker: WorkerProcess) -> None:
    from confluent_kafka import Producer

    from streams.topics import ensure_topics

    bus_topic = busbar_worker.topics.bus("default")
    topic = unique("target")
    ensure_topics(kafka_bootstrap, {topic: {}}, partitions=1, replication=1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    shaped = [{"order_total": 250, "rule": "big-orders"}, {"order_total": 7, "rule": "big-orders"}]
    for value in shaped:
        producer.produce(topic, json.dumps(value).encode())
    producer.produce(topic, b"not json")
    producer.produce(topic, json.dumps("just a string").encode())
    producer.produce(bus_topic, json.dumps({**EVENT, "id": unique("ev")}).encode())
    assert producer.flush(10) == 0

    pretty = tail(kafka_bootstrap, "--topic", topic, "--count", "2", "--pretty")
    assert pretty.exit_code == 0, pretty.output
    assert pretty.stdout == "".join(json.dumps(value, indent=2) + "\n" for value in shaped)
    assert f"following {topic}" in pretty.stderr

    # Any JSON a target received is shown; a record that is not JSON is reported and skipped.
    lines = tail(kafka_bootstrap, "--topic", topic, "--count", "3")
    assert lines.exit_code == 0, lines.output
    assert [json.loads(line) for line in lines.stdout.splitlines()] == [*shaped, "just a string"]
    assert "not a JSON event" in lines.stderr

    matching = tail(kafka_bootstrap, "--topic", topic, "--count", "1", "--pattern", '{"order_total": [7]}')
    assert json.loads(matching.stdout) == shaped[1]

    from_bus = tail(kafka_bootstrap, "--topic-prefix", busbar_worker.prefix, "--count", "1", "--pattern",
                    '{"source": ["shop"]}')
    assert from_bus.exit_code == 0, from_bus.output
    assert json.loads(from_bus.stdout.splitlines()[0])["source"] == "shop"

    both = tail(kafka_bootstrap, "default", "--topic", topic)
    assert both.exit_code == 2 and "not both" in both.output
    missing = tail(kafka_bootstrap, "--topic", unique("nosuch"))
    assert missing.exit_code == 1 and "does not exist: is the topic name right?" in missing.output
