"""Functions on a real worker and broker: declared through busbar's API, targeted with Lambda ARNs
by boto3, invoked by the worker's Faust agents (handlers in tests/function_handlers.py)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from streams.busbar_client import BusbarClient
from streams.cli import cli
from tests.support import WorkerProcess, unique
from tests.test_api_support import client_for, read_topic
from tests.test_router_support import ACCOUNT, REGION, create_topics, headers, read_all

pytestmark = pytest.mark.kafka

HANDLERS = "tests.function_handlers"


def lambda_arn(name: str, qualifier: str = "") -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}" + (f":{qualifier}" if qualifier else "")


def dead_letters(worker: WorkerProcess, bus: str, count: int, timeout: float = 60.0) -> list[tuple[dict[str, str], Any]]:
    """(headers, value) of the records of the bus's dead-letter queue, once it has `count` (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        letters = read_all(worker.bootstrap, worker.topics.dlq(bus))
        if len(letters) >= count or time.monotonic() > deadline:
            return [(headers(letter), json.loads(letter.value())) for letter in letters]
        time.sleep(0.5)


def worker_metrics(worker: WorkerProcess, function: str) -> dict[str, float]:
    """The worker's /metrics samples of one function, by name (the invocations settle just after reporting)."""
    time.sleep(1)
    with urllib.request.urlopen(f"{worker.url}/metrics", timeout=5) as response:
        families = text_string_to_metric_families(response.read().decode())
    return {sample.name: sample.value for family in families for sample in family.samples
            if sample.labels.get("function") == function and "le" not in sample.labels}


class Setup:
    """A bus, a function reporting to its own topic, and a rule sending the bus's events to it."""

    def __init__(self, worker: WorkerProcess, handler: str, **function: Any) -> None:
        self.worker = worker
        self.events = client_for(worker.url)
        self.busbar = BusbarClient(worker.url, REGION, Credentials("test", "test"))
        self.bus, self.name, self.out = unique("fbus"), unique("fn"), unique("fout")
        create_topics(worker.bootstrap, worker.topics.prefix + "." + self.out)
        self.out = worker.topics.prefix + "." + self.out
        self.events.create_event_bus(Name=self.bus)
        environment = {"OUT_TOPIC": self.out, **function.pop("environment", {})}
        self.function = self.busbar.put_function({"FunctionName": self.name, "Handler": f"{HANDLERS}:{handler}",
                                                  "Environment": {"Variables": environment}, **function})

    def target(self, qualifier: str = "", **target: Any) -> None:
        self.events.put_rule(Name="to-fn", EventBusName=self.bus, EventPattern=json.dumps({"source": ["shop"]}))
        result = self.events.put_targets(Rule="to-fn", EventBusName=self.bus, Targets=[
            {"Id": "fn", "Arn": lambda_arn(self.name, qualifier), **target}])
        assert result["FailedEntryCount"] == 0, result

    def put(self, *details: dict[str, Any]) -> list[str]:
        entries = [{"EventBusName": self.bus, "Source": "shop", "DetailType": "OrderCreated",
                    "Detail": json.dumps(detail)} for detail in details]
        answer = self.events.put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0
        return [entry["EventId"] for entry in answer["Entries"]]

    def reports(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        return read_topic(self.worker.bootstrap, self.out, lambda records: len(records) >= count, timeout)

    def dead_letters(self, count: int, timeout: float = 60.0) -> list[tuple[dict[str, str], Any]]:
        return dead_letters(self.worker, self.bus, count, timeout)

    def follow_destinations(self) -> str:
        """A rule on a bus of its own sending Lambda's destination events to a topic; the bus's name."""
        bus, topic = unique("dest"), self.worker.topics.prefix + "." + unique("results")
        create_topics(self.worker.bootstrap, topic)
        self.events.create_event_bus(Name=bus)
        self.events.put_rule(Name="results", EventBusName=bus, EventPattern=json.dumps({"source": ["lambda"]}))
        self.events.put_targets(Rule="results", EventBusName=bus, Targets=[
            {"Id": "t", "Arn": f"arn:aws:kafka:{REGION}:{ACCOUNT}:topic/local/{topic}"}])
        self.results = topic
        return bus

    def results_read(self, count: int) -> list[dict[str, Any]]:
        return read_topic(self.worker.bootstrap, self.results, lambda records: len(records) >= count, 60.0)


def test_handler_gets_the_event_and_lambdas_context(busbar_worker: WorkerProcess) -> None:
    setup = Setup(busbar_worker, "echo", Timeout=7, MemorySize=256, environment={"GREETING": "hello"})
    setup.target(qualifier="$LATEST")
    [event_id] = setup.put({"order": 1})
    [report] = setup.reports(1)
    event = report["event"]
    assert (event["id"], event["source"], event["detail-type"], event["detail"]) == (
        event_id, "shop", "OrderCreated", {"order": 1})
    context = report["context"]
    assert context["function_name"] == setup.name
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == lambda_arn(setup.name, "$LATEST")
    assert context["memory_limit_in_mb"] == "256"
    assert context["log_group_name"] == f"/aws/lambda/{setup.name}"
    assert "[$LATEST]" in context["log_stream_name"]
    assert len(context["aws_request_id"]) == 36
    assert 0 < context["remaining_ms"] <= 7000
    assert report["env"] == {"GREETING": "hello", "AWS_LAMBDA_FUNCTION_NAME": setup.name, "AWS_REGION": REGION}
    assert report["thread"].startswith("busbar-function-")


def test_put_get_list_delete_and_targets_refused_for_missing_functions(busbar_worker: WorkerProcess) -> None:
    busbar = BusbarClient(busbar_worker.url, REGION, Credentials("test", "test"))
    name = unique("fn")
    stored = busbar.put_function({"FunctionName": name, "Handler": f"{HANDLERS}:echo", "max_concurrency": 2,
                                  "environment": {"A": 1}})
    assert stored["FunctionArn"] == lambda_arn(name)
    assert (stored["Handler"], stored["Timeout"], stored["MaxConcurrency"], stored["Environment"]) == (
        f"{HANDLERS}:echo", 3, 2, {"Variables": {"A": "1"}})
    assert busbar.get_function(name) == stored
    assert name in [function["FunctionName"] for function in busbar.list_functions()]
    events = client_for(busbar_worker.url)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["x"]}))
    answer = events.put_targets(Rule=name, Targets=[{"Id": "ok", "Arn": lambda_arn(name)},
                                                    {"Id": "missing", "Arn": lambda_arn(name + "-not")},
                                                    {"Id": "bad", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:x"}])
    assert [(entry["TargetId"], entry["ErrorCode"]) for entry in answer["FailedEntries"]] == [
        ("missing", "ResourceNotFoundException"), ("bad", "ValidationException")]
    assert f"function {name}-not does not exist" in answer["FailedEntries"][0]["ErrorMessage"]
    assert [target["Id"] for target in events.list_targets_by_rule(Rule=name)["Targets"]] == ["ok"]
    assert busbar.delete_function(name) == {}
    with pytest.raises(ClientError) as missing:
        busbar.get_function(name)
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(("changes", "message"), [
    ({"Handler": "no colon or dot"}, "handler 'no colon or dot' is not package.module:callable"),
    ({"Timeout": 0}, "Timeout is 0: a whole number from 1 to 900"),
    ({"environment": {"1X": "y"}}, "environment variable name '1X'"),
    ({"on_success": "arn:aws:sqs:us-east-1:000000000000:q"}, "only an event bus can be a function's destination"),
    ({"colour": "red"}, "unknown key 'colour'"),
])
def test_invalid_functions_are_refused_naming_the_member(busbar_worker: WorkerProcess, changes: dict,
                                                         message: str) -> None:
    busbar = BusbarClient(busbar_worker.url, REGION, Credentials("test", "test"))
    with pytest.raises(ClientError) as refused:
        busbar.put_function({"FunctionName": "bad", "Handler": f"{HANDLERS}:echo", **changes})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert message in refused.value.response["Error"]["Message"]


def test_a_destination_bus_must_exist(busbar_worker: WorkerProcess) -> None:
    busbar = BusbarClient(busbar_worker.url, REGION, Credentials("test", "test"))
    with pytest.raises(ClientError, match="Event bus nowhere does not exist"):
        busbar.put_function({"FunctionName": unique("fn"), "Handler": f"{HANDLERS}:echo", "on_failure": "nowhere"})


def test_async_handler_gets_the_shaped_input(busbar_worker: WorkerProcess) -> None:
    setup = Setup(busbar_worker, "async_echo")
    setup.target(InputTransformer={"InputPathsMap": {"order": "$.detail.order"},
                                   "InputTemplate": '{"order": <order>, "rule": "<aws.events.rule-name>"}'})
    setup.put({"order": 7})
    [report] = setup.reports(1)
    assert report["event"] == {"order": 7, "rule": "to-fn"}
    assert not report["thread"].startswith("busbar-function-")  # awaited on the worker's loop


def test_max_concurrency_is_respected(busbar_worker: WorkerProcess) -> None:
    setup = Setup(busbar_worker, "busy", MaxConcurrency=2)
    setup.target()
    setup.put(*({"order": n} for n in range(8)))
    reports = setup.reports(8)
    assert sorted(report["event"]["detail"]["order"] for report in reports) == list(range(8))
    assert max(report["running"] for report in reports) == 2
    metrics = worker_metrics(busbar_worker, setup.name)
    assert metrics["busbar_function_invocations_total"] == 8
    assert metrics["busbar_function_duration_seconds_count"] == 8
    assert metrics["busbar_function_throttles_total"] >= 1  # 8 events, 2 slots: some waited


NO_RETRIES = {"RetryPolicy": {"MaximumRetryAttempts": 0}}


def test_success_and_failure_destinations_get_lambdas_invocation_records(busbar_worker: WorkerProcess) -> None:
    ok = Setup(busbar_worker, "echo")
    destination = ok.follow_destinations()
    ok.busbar.put_function({**ok.function, "OnSuccess": destination})
    ok.target()
    failing = Setup(busbar_worker, "fail", OnFailure=destination)
    failing.target(**NO_RETRIES)
    [good] = ok.put({"order": 1})
    [bad] = failing.put({"order": 2})
    results = {event["detail-type"]: event for event in ok.results_read(2)}
    success = results["Lambda Function Invocation Result - Success"]
    assert success["source"] == "lambda"
    assert success["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{destination}",
                                    lambda_arn(ok.name, "$LATEST")]
    detail = success["detail"]
    assert detail["requestContext"]["condition"] == "Success"
    assert detail["requestContext"]["functionArn"] == lambda_arn(ok.name, "$LATEST")
    assert detail["requestContext"]["approximateInvokeCount"] == 1
    assert detail["requestPayload"]["id"] == good
    assert detail["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert detail["responsePayload"] == {"echoed": detail["requestPayload"]}
    failure = results["Lambda Function Invocation Result - Failure"]["detail"]
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestPayload"]["id"] == bad
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["responsePayload"]["errorType"] == "ValueError"
    assert failure["responsePayload"]["errorMessage"] == f"cannot process {bad}"


@pytest.mark.parametrize("handler", ["slow", "async_slow"])
def test_a_timeout_fails_the_invocation_and_frees_its_slot(busbar_worker: WorkerProcess, handler: str) -> None:
    setup = Setup(busbar_worker, handler, Timeout=1, MaxConcurrency=1, environment={"SLEEP_S": "6"})
    setup.target(**NO_RETRIES)
    ids = setup.put({"order": 1}, {"order": 2})
    reports = sorted(setup.reports(2), key=lambda report: report["at"])
    assert sorted(report["event"]["id"] for report in reports) == sorted(ids)
    assert reports[1]["at"] - reports[0]["at"] < 4  # not after the first handler's 6 s: its slot was freed
    letters = setup.dead_letters(2)
    assert sorted(value["id"] for _, value in letters) == sorted(ids)
    metrics = worker_metrics(busbar_worker, setup.name)
    assert metrics["busbar_function_errors_total"] == 2
    assert metrics["busbar_function_dead_letters_total"] == 2
    for letter_headers, _ in letters:
        assert letter_headers["busbar-error"] == ("Sandbox.Timedout: Task timed out after 1.00 seconds "
                                                  "(MaximumRetryAttempts spent)")
        assert letter_headers["busbar-target"] == lambda_arn(setup.name)
        assert letter_headers["busbar-attempt"] == "1"


def test_exceptions_are_retried_by_the_targets_policy_then_dead_lettered(busbar_worker: WorkerProcess) -> None:
    setup = Setup(busbar_worker, "fail")
    setup.target(RetryPolicy={"MaximumRetryAttempts": 2})
    [event_id] = setup.put({"order": 1})
    [(letter_headers, value)] = setup.dead_letters(1, timeout=90)
    assert value["id"] == event_id
    assert letter_headers["busbar-error"] == f"ValueError: cannot process {event_id} (MaximumRetryAttempts spent)"
    assert letter_headers["busbar-attempt"] == "3"
    assert letter_headers["busbar-rule"] == "to-fn"
    assert [report["event"]["id"] for report in setup.reports(3)] == [event_id] * 3


def test_events_in_flight_when_a_function_is_deleted_are_dead_lettered(busbar_worker: WorkerProcess,
                                                                       tmp_path: Path) -> None:
    gate = tmp_path / "open"
    setup = Setup(busbar_worker, "gated", MaxConcurrency=1, Timeout=60, environment={"GATE_FILE": str(gate)})
    setup.target()
    ids = setup.put(*({"order": n} for n in range(3)))
    [running] = setup.reports(1)
    setup.busbar.delete_function(setup.name)
    time.sleep(2)  # every worker has heard of the deletion
    gate.touch()
    letters = setup.dead_letters(2)
    assert sorted([running["event"]["id"], *(value["id"] for _, value in letters)]) == sorted(ids)
    for letter_headers, _ in letters:
        assert letter_headers["busbar-error"] == (f"function {setup.name} does not exist (deleted while its "
                                                  "events were in flight)")
    # Nothing lost: with the function back, `busbar dlq redrive` invokes it with the dead letters.
    setup.busbar.put_function(setup.function)
    redrive = CliRunner().invoke(cli, ["dlq", "redrive", setup.bus, "--kafka", busbar_worker.bootstrap,
                                       "--topic-prefix", busbar_worker.prefix])
    assert redrive.exit_code == 0, redrive.output
    assert "redriven 2 dead letter(s)" in redrive.stderr
    assert sorted(report["event"]["id"] for report in setup.reports(3)) == sorted(ids)  # the first, then the two


def test_apply_declares_functions_and_reports_handlers_it_cannot_import(busbar_worker: WorkerProcess,
                                                                       tmp_path: Path) -> None:
    bus, good, broken = unique("fbus"), unique("fn"), unique("fn")
    env = {"BUSBAR_ENDPOINT_URL": busbar_worker.url}
    runner = CliRunner()
    declaration = tmp_path / "busbar.yaml"
    declaration.write_text(f"""
buses:
  - name: {bus}
functions:
  - name: {good}
    handler: {HANDLERS}.echo
    timeout: 10
    max_concurrency: 3
    environment: {{OUT_TOPIC: unused, RETRIES: 2}}
    on_success: {bus}
  - name: {broken}
    handler: tests.no_such_module:handler
rules:
  - name: to-broken
    bus: {bus}
    pattern: {{source: [shop]}}
    targets:
      - id: broken
        arn: {lambda_arn(broken)}
        retry_policy: {{maximum_retry_attempts: 0}}
""")
    first = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert first.exit_code == 0, first.output
    cannot = (f"function {broken}: created (warning: handler tests.no_such_module:handler: cannot import module "
              f"tests.no_such_module (from {Path.cwd()} or PYTHONPATH): ModuleNotFoundError: No module named "
              "'tests.no_such_module'; the workers import it from their own working directory and PYTHONPATH)")
    assert first.output.splitlines() == [f"bus {bus}: created", f"function {good}: created", cannot,
                                         f"rule {bus}/to-broken: created (targets: +broken)"]
    again = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert again.output.splitlines()[1:3] == [f"function {good}: unchanged",
                                              cannot.replace(": created (", ": unchanged (")]
    shown = json.loads(runner.invoke(cli, ["functions", "describe", good], env=env).output)
    assert (shown["Handler"], shown["Timeout"], shown["MaxConcurrency"], shown["OnSuccess"]) == (
        f"{HANDLERS}.echo", 10, 3, bus)
    assert shown["Environment"] == {"Variables": {"OUT_TOPIC": "unused", "RETRIES": "2"}}
    listed = json.loads(runner.invoke(cli, ["functions", "list"], env=env).output)
    assert {good, broken} <= {function["FunctionName"] for function in listed["Functions"]}

    # The worker logs the handler it cannot import, and its invocations fail with the reason.
    events = client_for(busbar_worker.url)
    [event_id] = [entry["EventId"] for entry in events.put_events(Entries=[
        {"EventBusName": bus, "Source": "shop", "DetailType": "x", "Detail": "{}"}])["Entries"]]
    [(letter_headers, value)] = dead_letters(busbar_worker, bus, 1)
    assert value["id"] == event_id
    assert letter_headers["busbar-error"].startswith(
        "Runtime.ImportModuleError: handler tests.no_such_module:handler: cannot import module tests.no_such_module")
    assert f"function {broken}: handler tests.no_such_module:handler: cannot import" in busbar_worker.log_tail(10**6)

    declaration.write_text(declaration.read_text().replace("timeout: 10", "timeout: 0"))
    invalid = runner.invoke(cli, ["apply", str(declaration)], env=env)
    assert invalid.exit_code == 2
    assert f"functions[0]: {good}: Timeout is 0: a whole number from 1 to 900" in invalid.output
    deleted = runner.invoke(cli, ["functions", "delete", good], env=env)
    assert deleted.output.strip() == f"deleted function {good}"
