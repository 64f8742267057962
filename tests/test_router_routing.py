"""The router against a real broker and a real worker: what reaches which topic, and why.

One worker serves the module; every test makes its own bus, rules and target topics, so the
tests do not see each other's events. Config records are written straight to the config
topic, as the API does.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streams.config_store import ConfigStore
from streams.embedded_kafka import free_port
from streams.model import rule_key
from tests.support import WorkerProcess, unique
from tests.test_router_support import (
    bus_target_arn,
    create_bus,
    create_topics,
    event,
    headers,
    ids,
    put,
    read_all,
    rule,
    topic_arn,
    wait_routed,
)

pytestmark = pytest.mark.kafka

RELOAD_S = 1.5  # a config change must be in force this long after it is written


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, worker_logs: Path) -> Iterator[WorkerProcess]:
    # "down" is a cluster that is configured but where nothing listens: produces to it time out.
    proc = WorkerProcess(kafka_bootstrap, prefix=unique("router"),
                         extra_env={"BUSBAR_CLUSTERS": f"down=127.0.0.1:{free_port()}"})
    proc.start(worker_logs)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def config(kafka_bootstrap: str, worker: WorkerProcess) -> Iterator[ConfigStore]:
    store = ConfigStore(kafka_bootstrap, worker.topics.config)
    store.start()
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def bus(kafka_bootstrap: str, worker: WorkerProcess, config: ConfigStore) -> str:
    name = unique("bus")
    config.write(*create_bus(kafka_bootstrap, worker.topics, name))
    return name


def routed(worker: WorkerProcess, bus: str, timeout: float = 30.0) -> float:
    return wait_routed(worker.bootstrap, f"{worker.prefix}-router", worker.topics.bus(bus), timeout)


def test_routes_matching_events_to_a_topic_and_no_others(kafka_bootstrap: str, worker: WorkerProcess,
                                                         config: ConfigStore, bus: str) -> None:
    target = unique("orders")
    create_topics(kafka_bootstrap, target)
    config.write(*rule(bus, "orders", {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
                       [{"Id": "t", "Arn": topic_arn(target)}]))
    wanted = [event("shop", {"total": 150 + i}) for i in range(5)]
    unwanted = [event("shop", {"total": 50}), event("other", {"total": 500}), event("shop", {})]
    put(kafka_bootstrap, worker.topics.bus(bus), [*unwanted[:2], *wanted, unwanted[2]])

    routed(worker, bus)
    records = read_all(kafka_bootstrap, target)
    assert sorted(ids(records)) == sorted(e["id"] for e in wanted)
    for msg in records:
        assert msg.key().decode() == orjson.loads(msg.value())["id"]
        assert headers(msg) == {"busbar-rule": "orders", "busbar-bus": bus}
    assert {orjson.loads(msg.value())["detail"]["total"] for msg in records} == {150, 151, 152, 153, 154}


def test_disabled_rule_routes_nothing(kafka_bootstrap: str, worker: WorkerProcess, config: ConfigStore,
                                      bus: str) -> None:
    off, on = unique("off"), unique("on")
    create_topics(kafka_bootstrap, off, on)
    config.write_many(dict([
        rule(bus, "off", {"source": ["a"]}, [{"Id": "t", "Arn": topic_arn(off)}], state="DISABLED"),
        rule(bus, "on", {"source": ["a"]}, [{"Id": "t", "Arn": topic_arn(on)}]),
    ]))
    events = [event("a") for _ in range(3)]
    put(kafka_bootstrap, worker.topics.bus(bus), events)

    routed(worker, bus)
    assert read_all(kafka_bootstrap, off) == []
    assert sorted(ids(read_all(kafka_bootstrap, on))) == sorted(e["id"] for e in events)


def test_bus_target_puts_the_event_unchanged_on_the_other_bus(kafka_bootstrap: str, worker: WorkerProcess,
                                                             config: ConfigStore, bus: str) -> None:
    second = unique("bus")
    config.write(*create_bus(kafka_bootstrap, worker.topics, second))
    final = unique("final")
    create_topics(kafka_bootstrap, final)
    config.write_many(dict([
        rule(bus, "forward", {"source": ["fwd"]}, [{"Id": "b", "Arn": bus_target_arn(second)}]),
        rule(second, "land", {"source": ["fwd"]}, [{"Id": "t", "Arn": topic_arn(final)}]),
    ]))
    sent = event("fwd", {"n": 1})
    put(kafka_bootstrap, worker.topics.bus(bus), [sent])

    routed(worker, bus)
    routed(worker, second)
    (landed,) = read_all(kafka_bootstrap, final)
    assert landed.value() == orjson.dumps(sent)
    assert headers(landed)["busbar-bus"] == second


def test_an_event_from_another_bus_is_not_routed_to_a_third_nor_back(kafka_bootstrap: str, worker: WorkerProcess,
                                                                     config: ConfigStore, bus: str) -> None:
    second, third = unique("bus"), unique("bus")
    for name in (second, third):
        config.write(*create_bus(kafka_bootstrap, worker.topics, name))
    final = unique("final")
    create_topics(kafka_bootstrap, final)
    config.write_many(dict([
        rule(bus, "forward", {"source": ["hop"]}, [{"Id": "b", "Arn": bus_target_arn(second)}]),
        rule(second, "onward", {"source": ["hop"]}, [{"Id": "c", "Arn": bus_target_arn(third)},
                                                     {"Id": "t", "Arn": topic_arn(final)}]),
        rule(second, "back", {"source": ["hop"]}, [{"Id": "a", "Arn": bus_target_arn(bus)}]),  # would loop
    ]))
    sent = event("hop")
    put(kafka_bootstrap, worker.topics.bus(bus), [sent])

    routed(worker, bus)
    routed(worker, second)
    (landed,) = read_all(kafka_bootstrap, final)  # the receiving bus's other targets still get it
    assert landed.value() == orjson.dumps(sent)
    assert read_all(kafka_bootstrap, worker.topics.bus(third)) == []
    assert ids(read_all(kafka_bootstrap, worker.topics.bus(bus))) == [sent["id"]]  # nothing came back
    dead = read_all(kafka_bootstrap, worker.topics.dlq(second))  # nothing is dropped without a reason
    assert sorted(headers(m)["busbar-target"] for m in dead) == sorted([bus_target_arn(third), bus_target_arn(bus)])
    for msg in dead:
        assert msg.value() == orjson.dumps(sent)
        assert "not routed on to a third bus" in headers(msg)["busbar-error"]
        assert headers(msg)["busbar-forwarded-from"] == bus


def test_bus_created_after_worker_start_is_routed_within_seconds(kafka_bootstrap: str, worker: WorkerProcess,
                                                                 config: ConfigStore) -> None:
    # The worker has been running since the module started; this bus topic is new to it.
    late = unique("late")
    target = unique("late-target")
    create_topics(kafka_bootstrap, target)
    config.write_many(dict([create_bus(kafka_bootstrap, worker.topics, late),
                            rule(late, "r", {"source": ["x"]}, [{"Id": "t", "Arn": topic_arn(target)}])]))
    sent = event("x")
    put(kafka_bootstrap, worker.topics.bus(late), [sent])

    took = routed(worker, late, timeout=20)
    print(f"bus created at run time routed after {took:.1f}s")
    assert ids(read_all(kafka_bootstrap, target)) == [sent["id"]]


def test_rule_added_changed_and_removed_while_running(kafka_bootstrap: str, worker: WorkerProcess,
                                                      config: ConfigStore, bus: str) -> None:
    first, second = unique("first"), unique("second")
    create_topics(kafka_bootstrap, first, second)
    topic = worker.topics.bus(bus)

    config.write(*rule(bus, "r", {"source": ["a"]}, [{"Id": "t", "Arn": topic_arn(first)}]))
    time.sleep(RELOAD_S)
    added = event("a")
    put(kafka_bootstrap, topic, [added])
    routed(worker, bus)

    config.write(*rule(bus, "r", {"source": ["b"]}, [{"Id": "t", "Arn": topic_arn(second)}]))
    time.sleep(RELOAD_S)
    stale, changed = event("a"), event("b")
    put(kafka_bootstrap, topic, [stale, changed])
    routed(worker, bus)

    config.write(rule_key(bus, "r"), None)
    time.sleep(RELOAD_S)
    put(kafka_bootstrap, topic, [event("b")])
    routed(worker, bus)

    assert ids(read_all(kafka_bootstrap, first)) == [added["id"]]
    assert ids(read_all(kafka_bootstrap, second)) == [changed["id"]]


def test_invalid_records_go_to_the_bus_dlq_and_good_ones_around_them_are_routed(
        kafka_bootstrap: str, worker: WorkerProcess, config: ConfigStore, bus: str) -> None:
    target = unique("good")
    create_topics(kafka_bootstrap, target)
    config.write(*rule(bus, "all", {"source": ["ok"]}, [{"Id": "t", "Arn": topic_arn(target)}]))
    good = [event("ok") for _ in range(3)]
    no_source = orjson.dumps({"detail-type": "x", "detail": {}})
    # One key: all on one partition, bad records between good ones.
    put(kafka_bootstrap, worker.topics.bus(bus), [good[0], b"not json at all", good[1], no_source, good[2]],
        key=b"same")

    routed(worker, bus)
    assert sorted(ids(read_all(kafka_bootstrap, target))) == sorted(e["id"] for e in good)
    dead = read_all(kafka_bootstrap, worker.topics.dlq(bus))
    assert [msg.value() for msg in dead] == [b"not json at all", no_source]
    reasons = [headers(msg)["busbar-error"] for msg in dead]
    assert "not valid JSON" in reasons[0]
    assert "source" in reasons[1]
    assert all(headers(msg)["busbar-bus"] == bus for msg in dead)


def test_input_shaping_is_applied_per_target(kafka_bootstrap: str, worker: WorkerProcess, config: ConfigStore,
                                            bus: str) -> None:
    constant, path, transformed = unique("const"), unique("path"), unique("tx")
    create_topics(kafka_bootstrap, constant, path, transformed)
    config.write(*rule(bus, "shape", {"source": ["s"]}, [
        {"Id": "c", "Arn": topic_arn(constant), "Input": '{"fixed": true}'},
        {"Id": "p", "Arn": topic_arn(path), "InputPath": "$.detail"},
        {"Id": "x", "Arn": topic_arn(transformed), "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.user", "src": "$.source"},
            "InputTemplate": '{"user": <who>, "from": <src>, "rule": <aws.events.rule-name>}'}},
    ]))
    sent = event("s", {"user": "ada", "n": 3})
    put(kafka_bootstrap, worker.topics.bus(bus), [sent])

    routed(worker, bus)
    assert [orjson.loads(m.value()) for m in read_all(kafka_bootstrap, constant)] == [{"fixed": True}]
    assert [orjson.loads(m.value()) for m in read_all(kafka_bootstrap, path)] == [{"user": "ada", "n": 3}]
    assert [orjson.loads(m.value()) for m in read_all(kafka_bootstrap, transformed)] == [
        {"user": "ada", "from": "s", "rule": "shape"}]


def test_an_object_inside_a_template_string_dead_letters_that_event(kafka_bootstrap: str, worker: WorkerProcess,
                                                                   config: ConfigStore, bus: str) -> None:
    shaped, plain = unique("tx"), unique("plain")
    create_topics(kafka_bootstrap, shaped, plain)
    config.write(*rule(bus, "link", {"source": ["u"]}, [
        {"Id": "x", "Arn": topic_arn(shaped), "InputTransformer": {
            "InputPathsMap": {"payload": "$.detail.payload"}, "InputTemplate": '{"link": "users/<payload>"}'}},
        {"Id": "whole", "Arn": topic_arn(plain)},
    ]))
    as_object, as_number = event("u", {"payload": {"id": 7}}), event("u", {"payload": 7})
    put(kafka_bootstrap, worker.topics.bus(bus), [as_object, as_number])

    routed(worker, bus)
    # The single value shapes as before; the object gives no valid input, so that event goes to
    # the target's dead-letter path (AWS drops it) while the rule's other target gets both.
    assert [orjson.loads(m.value()) for m in read_all(kafka_bootstrap, shaped)] == [{"link": "users/7"}]
    assert sorted(ids(read_all(kafka_bootstrap, plain))) == sorted([as_object["id"], as_number["id"]])
    (dead,) = read_all(kafka_bootstrap, worker.topics.dlq(bus))
    assert orjson.loads(dead.value())["id"] == as_object["id"]
    reason = headers(dead)["busbar-error"]
    assert reason.startswith("input shaping failed: ") and "<payload>" in reason and "an object" in reason
    assert headers(dead)["busbar-target"] == topic_arn(shaped)


def test_api_destination_target_becomes_a_delivery_record(kafka_bootstrap: str, worker: WorkerProcess,
                                                          config: ConfigStore, bus: str) -> None:
    spec = {"Id": "h", "Arn": "arn:aws:events:us-east-1:000000000000:api-destination/hook/0b1c",
            "InputPath": "$.detail"}
    config.write(*rule(bus, "http", {"source": ["web"]}, [spec]))
    sent = event("web", {"k": "v"})
    put(kafka_bootstrap, worker.topics.bus(bus), [sent])

    routed(worker, bus)
    mine = [orjson.loads(m.value()) for m in read_all(kafka_bootstrap, worker.topics.deliveries)]
    mine = [record for record in mine if record["bus"] == bus]
    assert all(isinstance(record.pop("timestamp_ms"), int) for record in mine)
    assert mine == [{"bus": bus, "rule": "http", "rule_arn": f"arn:aws:events:us-east-1:000000000000:rule/{bus}/http",
                     "target": spec, "payload": '{"k":"v"}', "event_id": sent["id"], "attempt": 0}]


def test_failing_targets_end_in_their_dlq_with_the_reason(kafka_bootstrap: str, worker: WorkerProcess,
                                                          config: ConfigStore, bus: str) -> None:
    ok, queue = unique("ok"), unique("q")
    create_topics(kafka_bootstrap, ok, f"sqs.{queue}")
    config.write(*rule(bus, "mixed", {"source": ["f"]}, [
        {"Id": "good", "Arn": topic_arn(ok)},
        {"Id": "nowhere", "Arn": topic_arn("t", cluster="nowhere")},
        {"Id": "own-dlq", "Arn": topic_arn("t", cluster="nowhere"),
         "DeadLetterConfig": {"Arn": f"arn:aws:sqs:us-east-1:000000000000:{queue}"}},
        {"Id": "slow", "Arn": topic_arn("t", cluster="down"), "RetryPolicy": {"MaximumRetryAttempts": 1}},
    ]))
    sent = event("f")
    put(kafka_bootstrap, worker.topics.bus(bus), [sent])

    routed(worker, bus, timeout=40)  # the "down" target's first produce times out, then it is parked
    assert ids(read_all(kafka_bootstrap, ok)) == [sent["id"]]
    deadline, bus_dlq = time.monotonic() + 60, {}
    while len(bus_dlq) < 2 and time.monotonic() < deadline:  # "down" is given up by the delivery service
        bus_dlq = {headers(m)["busbar-target"]: m for m in read_all(kafka_bootstrap, worker.topics.dlq(bus))}
        time.sleep(0.5)
    assert set(bus_dlq) == {topic_arn("t", cluster="nowhere"), topic_arn("t", cluster="down")}
    unknown = headers(bus_dlq[topic_arn("t", cluster="nowhere")])
    assert "unknown Kafka cluster 'nowhere'" in unknown["busbar-error"]
    assert unknown["busbar-attempt"] == "1" and unknown["busbar-rule"] == "mixed"
    gave_up = headers(bus_dlq[topic_arn("t", cluster="down")])
    assert gave_up["busbar-attempt"] == "2" and gave_up["busbar-error"].endswith("(MaximumRetryAttempts spent)")
    # A record that failed in flight keeps the target's headers through its parked retry and into
    # the DLQ (delivery reports do not carry them back).
    assert gave_up["busbar-rule"] == "mixed" and gave_up["busbar-bus"] == bus
    assert orjson.loads(bus_dlq[topic_arn("t", cluster="down")].value())["id"] == sent["id"]
    (own,) = read_all(kafka_bootstrap, f"sqs.{queue}")
    assert orjson.loads(own.value())["id"] == sent["id"]
    assert "nowhere" in headers(own)["busbar-error"]


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in /metrics")


def test_metrics_show_what_moved(kafka_bootstrap: str, worker: WorkerProcess, config: ConfigStore,
                                 bus: str) -> None:
    target = unique("m")
    create_topics(kafka_bootstrap, target)
    config.write(*rule(bus, "m", {"source": ["m"]}, [{"Id": "t", "Arn": topic_arn(target)},
                                                      {"Id": "bad", "Arn": topic_arn("x", cluster="nowhere")}]))
    put(kafka_bootstrap, worker.topics.bus(bus), [event("m"), event("m"), event("other"), b"{"])
    routed(worker, bus)
    time.sleep(2.5)  # lag is sampled every 2 s

    with urllib.request.urlopen(f"{worker.url}/metrics", timeout=5) as resp:
        assert "version=0.0.4" in resp.headers["Content-Type"]
        text = resp.read().decode()
    assert metric(text, "busbar_router_events_in_total", bus=bus) == 4
    assert metric(text, "busbar_router_rule_matches_total", bus=bus, rule="m") == 2
    assert metric(text, "busbar_router_target_deliveries_total", bus=bus, rule="m", target="t") == 2
    assert metric(text, "busbar_router_target_failures_total", bus=bus, rule="m", target="bad") == 2
    assert metric(text, "busbar_router_dead_letters_total", bus=bus, reason="invalid-envelope") == 1
    assert metric(text, "busbar_router_dead_letters_total", bus=bus, reason="target-failed") == 2
    lags = [metric(text, "busbar_router_consumer_lag", topic=worker.topics.bus(bus), partition=str(p)) for p in (0, 1)]
    assert lags == [0, 0]
