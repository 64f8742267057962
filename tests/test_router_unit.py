"""The router's dispatch, parking and dead-letter paths through fake sinks: no broker, milliseconds.

What only Kafka can show (acknowledgements, commits, rebalances) stays in the integration
tests; these hold the router's own rules: what is parked for a retry and as which job, where a failure ends
and with which reason, EventBridge's one-hop rule, and that no record, however bad, stops
routing or lets an offset be committed for a record that was never routed.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from streams.jobs import Job
from streams.metrics import TARGET_DELIVERIES, TARGET_FAILURES
from streams.model import Change, rule_key
from streams.router import rules_index
from streams.router.delivery import DeliveryError, Done
from streams.router.forwarding import FORWARDED_FROM
from streams.router.kafka_sink import KafkaTopicSink
from streams.router.native import build_matcher
from streams.router.outbox import UNWRITABLE, count_settled
from tests.router_fakes import (
    ACCOUNT,
    REGION,
    TOPICS,
    FakeDestinations,
    FakeMessage,
    Router,
    bus_arn,
    event_bytes,
    topic_arn,
)

BUS = "orders"
BUS_TOPIC = TOPICS.bus(BUS)
DLQ = TOPICS.dlq(BUS)


def put_rule(router: Router, name: str, pattern: dict[str, Any], targets: list[dict[str, Any]],
             bus: str = BUS) -> None:
    record = {"Name": name, "EventBusName": bus, "EventPattern": orjson.dumps(pattern).decode(), "State": "ENABLED",
              "Targets": targets}
    router.index.apply(Change(rule_key(bus, name), None, record))
    router.index.wait_built(5)


def messages(values: list[bytes], *, topic: str = BUS_TOPIC, partition: int = 0, start: int = 0,
             timestamp_ms: int | None = None, headers: list[tuple[str, bytes]] | None = None) -> list[FakeMessage]:
    now = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    return [FakeMessage(topic, partition, start + i, value, None, headers, now) for i, value in enumerate(values)]


def route(router: Router, values: list[bytes], **kwargs: Any) -> None:
    router.dispatcher.dispatch(messages(values, **kwargs), int(time.time() * 1000))  # type: ignore[arg-type]
    router.settle()


def header(sent: Any, name: str) -> str:
    return dict(sent.headers)[name].decode()


def failing_times(n: int, retriable: bool = True) -> Any:
    return lambda value, attempt: DeliveryError("broker said no", retriable) if attempt <= n else None


def test_a_retriable_failure_is_parked_as_a_job_and_the_batch_commits_without_waiting_for_the_retry() -> None:
    destinations = FakeDestinations({"out": failing_times(99)})
    router = Router(destinations)
    policy = {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 3600}
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out"), "RetryPolicy": policy}])
    event, stamp = event_bytes(), int(time.time() * 1000) - 5_000
    route(router, [event], timestamp_ms=stamp)
    assert len(destinations.sinks["out"].sent) == 1  # no inline retry
    (parked,) = destinations.parked()
    assert destinations.sinks[TOPICS.retry(1)].landed == [parked]  # due within a second or so: the 1 s tier
    job = Job.decode(parked.value, 0)
    assert (job.payload, job.key, job.timestamp_ms, job.attempts) == (event, parked.key, stamp, 1)
    assert job.target == {"Id": "t", "Arn": topic_arn("out"), "RetryPolicy": policy}
    assert (job.record["bus"], job.record["rule"], job.record["last_error"]) == (BUS, "r", "broker said no")
    assert dict(job.headers) == {"busbar-rule": b"r", "busbar-bus": BUS.encode()}
    assert 0 < job.due_ms - job.record["last_ms"] <= 1000
    assert destinations.landed(DLQ) == []
    assert router.committed == {(BUS_TOPIC, 0): 1}


def test_delivered_events_park_nothing() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    route(router, [event_bytes(), event_bytes()])
    assert len(destinations.landed("out")) == 2
    assert destinations.parked() == [] and destinations.landed(DLQ) == []


def test_an_api_destination_job_that_could_not_be_queued_is_parked_as_it_was() -> None:
    destinations = FakeDestinations({"hook": failing_times(99)})  # the fakes name its sink after it
    router = Router(destinations)
    arn = f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/hook/0d7c8a4e"
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "h", "Arn": arn}])
    event = event_bytes()
    route(router, [event])
    (parked,) = destinations.parked()
    job = Job.decode(parked.value, 0)
    assert job.payload == event and job.target["Arn"] == arn and job.attempts == 1
    assert job.record["event_id"] == orjson.loads(event)["id"]


def test_a_function_gets_a_job_with_the_shaped_input_parked_as_it_was_when_it_cannot_be_queued() -> None:
    def refuse_order_7(value: bytes, attempt: int) -> DeliveryError | None:
        return DeliveryError("queue full", True) if b'order\\":7' in value else None

    destinations = FakeDestinations({"enrich": refuse_order_7})  # the fakes name its sink after the function
    router = Router(destinations)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:enrich:live"
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "f", "Arn": arn, "InputPath": "$.detail"}])
    event = event_bytes(detail={"order": 7})
    route(router, [event])
    (parked,) = destinations.parked()  # the first send failed
    route(router, [event_bytes(detail={"order": 8})])
    (queued,) = destinations.landed("enrich")
    for job, order in ((Job.decode(parked.value, 0), 7), (Job.decode(queued.value, 0), 8)):
        assert orjson.loads(job.payload) == {"order": order} and job.target["Arn"] == arn
        assert (job.record["bus"], job.record["rule"]) == (BUS, "r")
    assert Job.decode(parked.value, 0).attempts == 1


def test_no_retry_when_the_policy_allows_none_or_the_event_would_be_too_old() -> None:
    destinations = FakeDestinations({"never": failing_times(99), "aging": failing_times(99)})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [
        {"Id": "once", "Arn": topic_arn("never"), "RetryPolicy": {"MaximumRetryAttempts": 0}},
        {"Id": "old", "Arn": topic_arn("aging"), "RetryPolicy": {"MaximumEventAgeInSeconds": 60}},
    ])
    event = event_bytes()
    route(router, [event], timestamp_ms=int(time.time() * 1000) - 59_950)
    assert destinations.parked() == []
    letters = {header(s, "busbar-target"): s for s in destinations.landed(DLQ)}
    assert set(letters) == {topic_arn("never"), topic_arn("aging")}
    assert header(letters[topic_arn("never")], "busbar-error") == "broker said no (MaximumRetryAttempts spent)"
    assert header(letters[topic_arn("aging")], "busbar-error") == (
        "broker said no (MaximumEventAgeInSeconds passes before the next retry)")
    for letter in letters.values():
        assert letter.value == event
        assert header(letter, "busbar-attempt") == "1"
        assert header(letter, "busbar-rule") == "r"
        assert header(letter, "busbar-bus") == BUS


def test_a_failure_no_retry_can_help_is_dead_lettered_at_once() -> None:
    destinations = FakeDestinations({"out": failing_times(99, retriable=False)})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    route(router, [event_bytes()])
    assert len(destinations.sinks["out"].sent) == 1
    assert destinations.parked() == []
    (letter,) = destinations.landed(DLQ)
    assert header(letter, "busbar-attempt") == "1"
    assert header(letter, "busbar-error") == "broker said no"


def test_a_park_the_retry_topic_refuses_is_written_again_and_holds_the_commit_until_it_lands() -> None:
    retry_topic = TOPICS.retry(1)
    destinations = FakeDestinations({"out": failing_times(99), retry_topic: failing_times(3)})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    router.dispatcher.dispatch(messages([event_bytes()]), int(time.time() * 1000))  # type: ignore[arg-type]
    assert not router.drain(3)  # while the retry topic refuses, nothing may be committed
    assert router.committed == {}
    router.settle()
    assert len(destinations.sinks[retry_topic].sent) == 4 and len(destinations.parked()) == 1
    assert destinations.landed(DLQ) == []
    assert router.committed == {(BUS_TOPIC, 0): 1}


def test_a_park_refused_for_good_dead_letters_the_event_with_both_reasons() -> None:
    too_large = DeliveryError("Broker: Message size too large", retriable=False)
    destinations = FakeDestinations({"out": failing_times(99), TOPICS.retry(1): lambda value, attempt: too_large})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    event = event_bytes()
    route(router, [event])
    (letter,) = destinations.landed(DLQ)
    assert letter.value == event
    assert header(letter, "busbar-error") == f"broker said no; parking it for a retry failed: {too_large.reason}"
    assert router.committed == {(BUS_TOPIC, 0): 1}


def test_a_dead_letter_that_cannot_be_written_is_retried_until_it_lands_and_holds_the_commit() -> None:
    failures = {"n": 0}

    def dlq_down_for_a_while(value: bytes, attempt: int) -> DeliveryError | None:
        failures["n"] += 1
        return DeliveryError("dlq unavailable", True) if failures["n"] <= 3 else None

    destinations = FakeDestinations({"out": failing_times(99, retriable=False), DLQ: dlq_down_for_a_while})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    router.dispatcher.dispatch(messages([event_bytes()]), int(time.time() * 1000))  # type: ignore[arg-type]
    assert not router.drain(3)  # while the DLQ refuses, the batch is not settled and nothing may be committed
    assert router.committed == {}
    router.settle()
    assert len(destinations.landed(DLQ)) == 1
    assert router.committed == {(BUS_TOPIC, 0): 1}


def test_a_target_dlq_that_refuses_for_good_falls_back_to_the_bus_dlq_with_the_event() -> None:
    destinations = FakeDestinations({"out": failing_times(99, retriable=False),
                                     "my-dlq": failing_times(99, retriable=False)})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out"),
                                                 "DeadLetterConfig": {"Arn": topic_arn("my-dlq")}}])
    event = event_bytes()
    route(router, [event])
    assert len(destinations.sinks["my-dlq"].sent) == 1
    (letter,) = destinations.landed(DLQ)
    assert letter.value == event
    assert header(letter, "busbar-error") == "broker said no"


def test_a_dead_letter_even_the_bus_dlq_refuses_for_good_is_kept_as_its_reason() -> None:
    too_large = DeliveryError("Broker: Message size too large", retriable=False)
    destinations = FakeDestinations({"out": failing_times(99, retriable=False),
                                     DLQ: lambda value, attempt: too_large if value else None})
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    route(router, [event_bytes()])
    (letter,) = destinations.landed(DLQ)
    assert letter.value == b""
    assert header(letter, UNWRITABLE) == too_large.reason
    assert header(letter, "busbar-error") == "broker said no"  # why the event was dead-lettered at all
    assert int(header(letter, "busbar-value-bytes")) > 0


def test_an_event_older_than_its_maximum_age_is_dead_lettered_without_being_sent() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [
        {"Id": "young", "Arn": topic_arn("young")},
        {"Id": "old", "Arn": topic_arn("old"), "RetryPolicy": {"MaximumEventAgeInSeconds": 60}},
    ])
    route(router, [event_bytes()], timestamp_ms=int(time.time() * 1000) - 120_000)
    assert len(destinations.landed("young")) == 1
    assert destinations.sinks["old"].sent == []
    (letter,) = destinations.landed(DLQ)
    assert header(letter, "busbar-error") == "event older than MaximumEventAgeInSeconds=60"


def test_a_forwarded_event_reaches_targets_but_no_third_bus() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "bus", "Arn": bus_arn("third")},
                                                {"Id": "t", "Arn": topic_arn("out")}])
    route(router, [event_bytes()], headers=[(FORWARDED_FROM, b"first")])
    assert len(destinations.landed("out")) == 1
    assert destinations.landed(TOPICS.bus("third")) == []
    (letter,) = destinations.landed(DLQ)
    assert "not routed on to a third bus" in header(letter, "busbar-error")
    assert header(letter, FORWARDED_FROM) == "first"

    route(router, [event_bytes()], start=1)  # put on this bus directly: forwarded, with the header
    (forwarded,) = destinations.landed(TOPICS.bus("third"))
    assert header(forwarded, FORWARDED_FROM) == BUS


def test_a_failing_rule_change_leaves_the_rule_as_it_was_in_both_matchers() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    bad = {"Name": "r", "EventBusName": BUS, "EventPattern": '{"source": [{"nope": 1}]}', "State": "ENABLED",
           "Targets": [{"Id": "t2", "Arn": topic_arn("other")}]}
    with pytest.raises(ValueError):
        router.index.apply(Change(rule_key(BUS, "r"), None, bad))
    router.index.wait_built(5)
    rules = router.index.buses[BUS]
    assert rules.native is not None  # rebuilt, from what the Python index holds
    event = event_bytes()
    assert [r.name for r in rules.native.route(event)[1]] == ["r"]
    assert [r.name for r in rules.ruleset.matching(event)] == ["r"]
    route(router, [event])
    assert len(destinations.landed("out")) == 1


def test_a_rule_the_native_matcher_cannot_decide_is_matched_in_python_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Matchers built without Python's case tables leave non-ASCII text under ignore-case to Python:
    only the rules testing it are matched in Python, the bus's other rules keep their native answer."""
    monkeypatch.setattr(rules_index, "build_matcher", partial(build_matcher, case=False))
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "sigma", {"detail": {"name": [{"equals-ignore-case": "\u03c3\u03b1\u03c2"}]}},
             [{"Id": "t", "Arn": topic_arn("sigma")}])
    put_rule(router, "other-case", {"detail": {"name": [{"equals-ignore-case": "x"}]}},
             [{"Id": "t", "Arn": topic_arn("other-case")}])
    put_rule(router, "app", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("app")}])
    put_rule(router, "elsewhere", {"source": ["elsewhere"]}, [{"Id": "t", "Arn": topic_arn("elsewhere")}])
    rules = router.index.buses[BUS]

    def whole_bus_in_python(event: Any) -> Any:
        raise AssertionError("the whole bus was matched in Python")

    monkeypatch.setattr(rules.ruleset, "matching", whole_bus_in_python)
    event = event_bytes(detail={"name": "\u03a3\u0391\u03a3"})
    _, matched, unsure = rules.native.route(event)  # type: ignore[union-attr]
    assert ({r.name for r in matched}, {r.name for r in unsure}) == ({"app"}, {"sigma", "other-case"})
    route(router, [event])
    assert [len(destinations.landed(t)) for t in ("sigma", "other-case", "app", "elsewhere")] == [1, 0, 1, 0]


def test_a_target_whose_stored_policy_is_unusable_dead_letters_while_the_others_deliver() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [
        {"Id": "good", "Arn": topic_arn("out")},
        {"Id": "bad", "Arn": topic_arn("other"), "RetryPolicy": {"MaximumRetryAttempts": None}},
    ])
    route(router, [event_bytes()])
    assert len(destinations.landed("out")) == 1
    (letter,) = destinations.landed(DLQ)
    assert "RetryPolicy.MaximumRetryAttempts is None" in header(letter, "busbar-error")


def test_input_that_cannot_be_shaped_or_is_too_large_is_dead_lettered_with_the_event() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    template = "[" + ",".join(["<e>"] * 8) + "]"
    put_rule(router, "r", {"source": ["app"]}, [
        {"Id": "deep", "Arn": topic_arn("deep"), "InputPath": "$.detail"},
        {"Id": "big", "Arn": topic_arn("big"),
         "InputTransformer": {"InputPathsMap": {"e": "$.detail"}, "InputTemplate": template}},
    ])
    nested = b'{"n":' * 1000 + b"{}" + b"}" * 1000  # deeper than the encoder goes
    deep = event_bytes(detail={"n": "DEEP"}).replace(b'"DEEP"', nested)
    big = event_bytes(detail={"blob": "x" * 200_000})
    route(router, [deep, big])
    letters = {(header(s, "busbar-target"), s.value): header(s, "busbar-error") for s in destinations.landed(DLQ)}
    assert set(letters) == {(topic_arn("deep"), deep), (topic_arn("big"), deep), (topic_arn("big"), big)}
    assert "input shaping failed" in letters[(topic_arn("deep"), deep)]
    assert "input shaping failed" in letters[(topic_arn("big"), deep)]
    assert "more than the 1048588 its destination accepts" in letters[(topic_arn("big"), big)]
    assert [s.value for s in destinations.landed("deep")] == [orjson.dumps({"blob": "x" * 200_000})]
    assert destinations.landed("big") == []
    assert router.committed == {(BUS_TOPIC, 0): 2}


def test_shaped_targets_of_one_event_each_get_their_input_with_the_records_ingestion_second() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    template = '{"id": <id>, "at": <aws.events.event.ingestion-time>, "rule": "<aws.events.rule-name>"}'
    put_rule(router, "r", {"source": ["app"]}, [
        {"Id": "a", "Arn": topic_arn("a"), "InputTransformer": {"InputPathsMap": {"id": "$.id"},
                                                                "InputTemplate": template}},
        {"Id": "b", "Arn": topic_arn("b"), "InputPath": "$.detail.n"},
        {"Id": "c", "Arn": topic_arn("c")},
    ])
    second = int(time.time()) - 5
    times = [second * 1000 + 1, second * 1000 + 999, second * 1000 + 1000]  # the last one a second later
    events = [event_bytes(detail={"n": n}) for n in range(3)]
    for value, timestamp_ms in zip(events, times, strict=True):
        route(router, [value], timestamp_ms=timestamp_ms)
    stamps = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t // 1000)) for t in times]
    assert [orjson.loads(s.value) for s in destinations.landed("a")] == [
        {"id": orjson.loads(value)["id"], "at": at, "rule": "r"} for value, at in zip(events, stamps, strict=True)]
    assert stamps[0] == stamps[1] != stamps[2]
    assert [s.value for s in destinations.landed("b")] == [b"0", b"1", b"2"]
    assert [s.value for s in destinations.landed("c")] == events


class Exploding(Exception):
    pass


def test_no_record_stops_routing_what_cannot_be_routed_goes_to_a_dlq_with_why() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    rules = router.index.buses[BUS]
    target = rules.rules["r"].targets[0]
    real_send, real_route = target._send, rules.native.route  # type: ignore[union-attr]

    def send(value: bytes, key: bytes | None, headers: Any, done: Done) -> None:
        if b'"sink-poison"' in value:
            raise Exploding("a sink that raises")
        real_send(value, key, headers, done)

    class Matcher:
        def route(self, raw: bytes) -> Any:
            if b'"matcher-poison"' in raw:
                raise Exploding("a matcher that raises")
            return real_route(raw)

    target._send = send
    rules.native = Matcher()  # type: ignore[assignment]
    values = [event_bytes(), event_bytes(detail={"k": "sink-poison"}), event_bytes(), b"not json",
              event_bytes(detail={"k": "matcher-poison"}), event_bytes()]
    route(router, values)
    assert len(destinations.landed("out")) == 3
    letters = {s.value: s for s in destinations.landed(DLQ)}
    assert set(letters) == {values[1], values[3], values[4]}
    assert "sending failed: Exploding('a sink that raises')" in header(letters[values[1]], "busbar-error")
    assert header(letters[values[1]], "busbar-target") == topic_arn("out")
    assert "invalid envelope" in header(letters[values[3]], "busbar-error")
    assert "routing failed: Exploding('a matcher that raises')" in header(letters[values[4]], "busbar-error")
    assert router.committed == {(BUS_TOPIC, 0): 6}


class Stop(BaseException):
    """What a dying thread looks like from inside: not an Exception, so nothing catches it."""


@pytest.mark.parametrize("where", ["matching", "sending"])
@pytest.mark.parametrize("crash_at", range(7))
def test_a_router_stopped_at_any_record_commits_only_what_it_routed(crash_at: int, where: str) -> None:
    """Kill the router at each point of a batch's life (while matching a record, or while
    sending it), restart from what was committed, and every event is routed (at least once)
    or dead-lettered: none is lost."""
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    values = [event_bytes(detail={"n": i}) for i in range(3)] + [b"not json"] + [
        event_bytes(detail={"n": i}) for i in range(3, 5)]
    rules = router.index.buses[BUS]
    target = rules.rules["r"].targets[0]
    real_send, real_route, seen = target._send, rules.native.route, {"n": 0}  # type: ignore[union-attr]

    def dying_send(value: bytes, key: bytes | None, headers: Any, done: Done) -> None:
        if value == values[crash_at if crash_at < len(values) else 0] and where == "sending":
            raise Stop
        real_send(value, key, headers, done)

    class DyingMatcher:
        def route(self, raw: bytes) -> Any:
            if seen["n"] == crash_at and where == "matching":
                raise Stop
            seen["n"] += 1
            return real_route(raw)

    target._send = dying_send
    rules.native = DyingMatcher()  # type: ignore[assignment]
    with pytest.raises(Stop):
        router.dispatcher.dispatch(messages(values), int(time.time() * 1000))  # type: ignore[arg-type]
        raise Stop  # crash_at past the last record: the thread dies after the batch
    router.drain(20)  # what the dying router's revoke does: commit what settled
    start = router.committed.get((BUS_TOPIC, 0), 0)
    crashed_inside = crash_at < len(values) and (where == "matching" or values[crash_at] != b"not json")
    assert start <= (crash_at if crashed_inside else len(values))

    restarted = Router(destinations)  # a new worker: same destinations, reads from the committed offset
    put_rule(restarted, "r", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out")}])
    route(restarted, values[start:], start=start)
    routed = {s.value for s in destinations.landed("out")}
    dead = {s.value for s in destinations.landed(DLQ)}
    assert routed | dead == set(values)
    assert restarted.committed.get((BUS_TOPIC, 0), start) == len(values)


def test_settled_batches_count_deliveries_and_failures_per_target() -> None:
    destinations = FakeDestinations({"bad": failing_times(99, retriable=False)})
    router = Router(destinations)
    put_rule(router, "counted", {"source": ["app"]}, [{"Id": "ok", "Arn": topic_arn("good")},
                                                      {"Id": "ko", "Arn": topic_arn("bad")}])
    router.dispatcher.dispatch(messages([event_bytes(), event_bytes()]), int(time.time() * 1000))  # type: ignore
    before_ok = TARGET_DELIVERIES._totals.get((BUS, "counted", "ok"), 0)
    before_ko = TARGET_FAILURES._totals.get((BUS, "counted", "ko"), 0)
    for _ in range(10):
        for batch in router.outbox.poll(0):
            count_settled(batch)
    assert TARGET_DELIVERIES._totals[(BUS, "counted", "ok")] == before_ok + 2
    assert TARGET_DELIVERIES._totals[(BUS, "counted", "ko")] == 0
    assert TARGET_FAILURES._totals[(BUS, "counted", "ko")] == before_ko + 2


class Outcome(Done):
    def __init__(self) -> None:
        super().__init__()
        self.ok_count, self.errors = 0, []

    def ok(self) -> None:
        self.ok_count += 1

    def failed(self, error: DeliveryError, value: bytes, key: bytes | None) -> None:
        self.errors.append((error, value))


def test_a_full_producer_queue_waits_for_room_instead_of_losing_the_record() -> None:
    """A real librdkafka producer with room for one record and no broker to take it: the second
    send waits until the first has timed out (reported, retriable), then goes in itself."""
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "queue.buffering.max.messages": 1,
                         "message.timeout.ms": 200, "log_level": 0})
    sink = KafkaTopicSink(producer, "nowhere", 1000)
    outcome = Outcome()
    sink.send(b"first", None, [], outcome)
    sink.send(b"second", None, [], outcome)  # BufferError inside, until the first is reported
    assert [value for _, value in outcome.errors] == [b"first"]
    producer.flush(2)
    assert [value for _, value in outcome.errors] == [b"first", b"second"]
    assert all(error.retriable for error, _ in outcome.errors)


def test_a_record_larger_than_the_producer_takes_is_reported_not_raised() -> None:
    producer = Producer({"bootstrap.servers": "127.0.0.1:1", "message.max.bytes": 1000, "log_level": 0})
    outcome = Outcome()
    KafkaTopicSink(producer, "nowhere", 1000).send(b"x" * 5000, None, [], outcome)
    ((error, value),) = outcome.errors
    assert value == b"x" * 5000
    assert not error.retriable
    assert "size" in error.reason.lower()


def test_a_rule_change_rebuilds_only_its_bus_off_the_routing_thread() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    put_rule(router, "a", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out-a")}])
    put_rule(router, "b", {"source": ["app"]}, [{"Id": "t", "Arn": topic_arn("out-b")}], bus="other")
    other = router.index.buses["other"].native
    assert other is not None
    record = {"Name": "a2", "EventBusName": BUS, "EventPattern": '{"source": ["app"]}', "State": "ENABLED",
              "Targets": [{"Id": "t", "Arn": topic_arn("out-a2")}]}
    router.index.apply(Change(rule_key(BUS, "a2"), None, record))
    router.index.refresh()  # starts the rebuild and returns: the new matcher is swapped in by a later call
    assert router.index.buses[BUS].native is None  # meanwhile this bus takes the Python path...
    assert router.index.buses["other"].native is other  # ...and the other bus keeps its matcher
    route(router, [event_bytes()])
    assert len(destinations.landed("out-a")) == len(destinations.landed("out-a2")) == 1
    router.index.wait_built(5)
    assert router.index.buses[BUS].native is not None


def test_a_scheduled_record_that_cannot_be_routed_goes_to_its_rules_bus_dlq() -> None:
    destinations = FakeDestinations()
    router = Router(destinations)
    record = {"Name": "nightly", "EventBusName": BUS, "ScheduleExpression": "rate(1 day)", "State": "ENABLED",
              "Targets": [{"Id": "t", "Arn": topic_arn("out"), "InputPath": "$.detail"}]}
    router.index.apply(Change(rule_key(BUS, "nightly"), None, record))
    router.index.wait_built(5)
    bad = FakeMessage(TOPICS.scheduled, 0, 0, b"not json", f"{BUS}/nightly".encode(), None, int(time.time() * 1000))
    router.dispatcher.dispatch([bad], int(time.time() * 1000))  # type: ignore[list-item]
    router.settle()
    (letter,) = destinations.landed(DLQ)
    assert letter.value == b"not json"
    assert "routing failed" in header(letter, "busbar-error")
