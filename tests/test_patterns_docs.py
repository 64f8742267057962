"""Every example from the EventBridge user guide pattern pages, with the documented answer.

Pages: "Event patterns", "Content filtering in Amazon EventBridge event patterns", "Arrays in
event patterns", and event-ruler's README (the matcher behind EventBridge) for the array rule.
Each case runs through compile_pattern().matches and through a one-rule RuleSet.
"""

from __future__ import annotations

import copy

import orjson
import pytest

from streams.patterns import RuleSet, compile_pattern, test_pattern

EC2_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}

RULER_EVENT = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}


def with_detail(**detail: object) -> dict[str, object]:
    event = copy.deepcopy(EC2_EVENT)
    event["detail"] = detail
    return event


def top(**fields: object) -> dict[str, object]:
    event = copy.deepcopy(EC2_EVENT)
    event.update(fields)
    return event


CASES: list[tuple[str, dict[str, object], dict[str, object], bool]] = [
    # --- Event patterns page ---
    ("source only", {"source": ["aws.ec2"]}, EC2_EVENT, True),
    ("source other", {"source": ["aws.s3"]}, EC2_EVENT, False),
    (
        "ec2 state terminated",
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["terminated"]},
        },
        EC2_EVENT,
        True,
    ),
    (
        "ec2 state running",
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["running"]},
        },
        EC2_EVENT,
        False,
    ),
    ("value list is OR", {"detail": {"state": ["running", "terminated"]}}, EC2_EVENT, True),
    ("field missing", {"detail": {"nope": ["x"]}}, EC2_EVENT, False),
    ("case sensitive", {"source": ["AWS.EC2"]}, EC2_EVENT, False),
    ("null value", {"detail": {"responseElements": [None]}}, with_detail(responseElements=None), True),
    ("null does not match absent", {"detail": {"responseElements": [None]}}, with_detail(), False),
    ("null does not match string", {"detail": {"responseElements": [None]}}, with_detail(responseElements="null"), False),
    ("empty string", {"detail": {"eventVersion": [""]}}, with_detail(eventVersion=""), True),
    ("empty string vs null", {"detail": {"eventVersion": [""]}}, with_detail(eventVersion=None), False),
    ("number exact", {"detail": {"n": [3]}}, with_detail(n=3.0), True),
    ("number vs string", {"detail": {"n": [3]}}, with_detail(n="3"), False),
    ("string vs number", {"detail": {"n": ["3"]}}, with_detail(n=3), False),
    ("true", {"detail": {"b": [True]}}, with_detail(b=True), True),
    ("true is not 1", {"detail": {"b": [True]}}, with_detail(b=1), False),
    ("1 is not true", {"detail": {"b": [1]}}, with_detail(b=True), False),
    ("big number exact", {"account": [123456789012345]}, top(account=123456789012345), True),
    # --- Arrays page ---
    (
        "resources intersection",
        {
            "resources": [
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
                "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
            ]
        },
        top(
            resources=[
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            ]
        ),
        True,
    ),
    (
        "resources no intersection",
        {"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]},
        top(resources=["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]),
        False,
    ),
    # --- Content filtering: prefix / suffix ---
    ("prefix", {"time": [{"prefix": "2017-10-02"}]}, top(time="2017-10-02T18:43:48Z"), True),
    ("prefix no", {"time": [{"prefix": "2017-10-02"}]}, top(time="2017-10-03T18:43:48Z"), False),
    ("prefix on number", {"detail": {"n": [{"prefix": "1"}]}}, with_detail(n=12), False),
    *(
        (f"prefix ignore case {v}", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}, with_detail(service=v), True)
        for v in ("EventBridge", "EVENTBRIDGE", "eventbridge")
    ),
    ("prefix ignore case no", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}, with_detail(service="Event"), False),
    ("suffix", {"FileName": [{"suffix": ".png"}]}, top(FileName="image.png"), True),
    ("suffix case", {"FileName": [{"suffix": ".png"}]}, top(FileName="image.PNG"), False),
    ("suffix ignore case", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, with_detail(FileName="a.PNG"), True),
    ("suffix ignore case no", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}, with_detail(FileName="a.jpg"), False),
    # --- anything-but ---
    ("anything-but string", {"detail": {"state": [{"anything-but": "initializing"}]}}, with_detail(state="running"), True),
    ("anything-but string same", {"detail": {"state": [{"anything-but": "initializing"}]}}, with_detail(state="initializing"), False),
    ("anything-but needs field", {"detail": {"state": [{"anything-but": "initializing"}]}}, with_detail(), False),
    ("anything-but number", {"detail": {"x-limit": [{"anything-but": 123}]}}, with_detail(**{"x-limit": 124}), True),
    ("anything-but number same", {"detail": {"x-limit": [{"anything-but": 123}]}}, with_detail(**{"x-limit": 123.0}), False),
    ("anything-but list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, with_detail(state="running"), True),
    ("anything-but list hit", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, with_detail(state="stopped"), False),
    ("anything-but numbers", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, with_detail(**{"x-limit": 301.8}), True),
    ("anything-but numbers hit", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}, with_detail(**{"x-limit": 200}), False),
    ("anything-but prefix", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, with_detail(state="running"), True),
    ("anything-but prefix hit", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, with_detail(state="initializing"), False),
    ("anything-but suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}, with_detail(FileName="a.png"), True),
    ("anything-but suffix hit", {"detail": {"FileName": [{"anything-but": {"suffix": ".txt"}}]}}, with_detail(FileName="a.txt"), False),
    (
        "anything-but ignore case",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}},
        with_detail(state="running"),
        True,
    ),
    (
        "anything-but ignore case hit",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}},
        with_detail(state="STOPPED"),
        False,
    ),
    ("anything-but wildcard", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, with_detail(FilePath="/usr/bin/x"), True),
    ("anything-but wildcard hit", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}}, with_detail(FilePath="/usr/lib/x"), False),
    (
        "anything-but wildcard list hit",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
        with_detail(FilePath="/usr/bin/x"),
        False,
    ),
    # --- numeric ---
    (
        "numeric ruler example",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        RULER_EVENT,
        True,
    ),
    ("numeric upper bound inclusive", {"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, RULER_EVENT, False),
    ("numeric on string", {"detail": {"n": [{"numeric": [">", 0]}]}}, with_detail(n="5"), False),
    ("numeric >=", {"detail": {"n": [{"numeric": [">=", 5]}]}}, with_detail(n=5), True),
    ("numeric > boundary", {"detail": {"n": [{"numeric": [">", 5]}]}}, with_detail(n=5), False),
    ("numeric six decimals", {"detail": {"n": [{"numeric": [">", 5]}]}}, with_detail(n=5.000001), True),
    ("numeric 3 == 3.0", {"detail": {"n": [{"numeric": ["=", 3]}]}}, with_detail(n=3.0), True),
    ("numeric negative", {"detail": {"n": [{"numeric": ["<", -1.5]}]}}, with_detail(n=-2), True),
    ("numeric out of range event", {"detail": {"n": [{"numeric": [">", 0]}]}}, with_detail(n=6e9), False),
    # --- IP address ---
    ("cidr", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, RULER_EVENT, True),
    ("cidr no", {"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, RULER_EVENT, False),
    ("cidr /8", {"detail": {"source-ip": [{"cidr": "10.0.0.0/8"}]}}, RULER_EVENT, True),
    (
        "cidr ipv6",
        {"detail": {"sourceIPAddress": [{"cidr": "bc98:f8b9:1c53:d5e5::/64"}]}},
        with_detail(sourceIPAddress="bc98:f8b9:1c53:d5e5:0:0:0:1"),
        True,
    ),
    (
        "cidr ipv6 no",
        {"detail": {"sourceIPAddress": [{"cidr": "bc98:f8b9:1c53:d5e5::/64"}]}},
        with_detail(sourceIPAddress="bc98:f8b9:1c53:d5e6::1"),
        False,
    ),
    ("cidr not an ip", {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, with_detail(ip="hello"), False),
    # --- exists ---
    ("exists true", {"detail": {"state": [{"exists": True}]}}, EC2_EVENT, True),
    ("exists false", {"detail": {"state": [{"exists": False}]}}, EC2_EVENT, False),
    ("exists false absent", {"detail": {"c-count": [{"exists": False}]}}, EC2_EVENT, True),
    ("exists true absent", {"detail": {"c-count": [{"exists": True}]}}, EC2_EVENT, False),
    ("exists false no detail", {"detail": {"c-count": [{"exists": False}]}}, {"source": "x"}, True),
    # exists only works on leaves: an object is not a value (event-ruler README).
    ("exists false object", {"detail": {"c-count": [{"exists": False}]}}, with_detail(**{"c-count": {"c1": 100}}), True),
    ("exists true object", {"detail": {"c-count": [{"exists": True}]}}, with_detail(**{"c-count": {"c1": 100}}), False),
    ("exists true null", {"detail": {"c": [{"exists": True}]}}, with_detail(c=None), True),
    ("exists true empty array", {"detail": {"c": [{"exists": True}]}}, with_detail(c=[]), False),
    ("exists false empty array", {"detail": {"c": [{"exists": False}]}}, with_detail(c=[]), True),
    # --- equals-ignore-case ---
    (
        "equals-ignore-case",
        {"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
        EC2_EVENT,
        True,
    ),
    ("equals-ignore-case no", {"detail-type": [{"equals-ignore-case": "ec2 instance"}]}, EC2_EVENT, False),
    # --- wildcard ---
    (
        "wildcard event bus arn",
        {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]},
        top(EventBusArn="arn:aws:events:us-east-1:123456789012:event-bus/default"),
        True,
    ),
    ("wildcard Simple*Service", {"source": [{"wildcard": "Simple*Service"}]}, top(source="SimpleQueueService"), True),
    ("wildcard no", {"source": [{"wildcard": "Simple*Service"}]}, top(source="SimpleQueue"), False),
    ("wildcard dir", {"detail": {"FilePath": [{"wildcard": "dir/*.png"}]}}, with_detail(FilePath="dir/a/b.png"), True),
    ("wildcard escaped star", {"detail": {"p": [{"wildcard": "a\\*b"}]}}, with_detail(p="a*b"), True),
    ("wildcard escaped star literal", {"detail": {"p": [{"wildcard": "a\\*b"}]}}, with_detail(p="axb"), False),
    ("wildcard escaped backslash", {"detail": {"p": [{"wildcard": "a\\\\*"}]}}, with_detail(p="a\\bc"), True),
    ("wildcard star only", {"detail": {"p": [{"wildcard": "*"}]}}, with_detail(p=""), True),
    # --- $or ---
    (
        "$or numeric c-count",
        {
            "detail": {
                "$or": [
                    {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                    {"d-count": [{"numeric": ["<", 10]}]},
                    {"x-limit": [{"numeric": ["=", 3.018e2]}]},
                ]
            }
        },
        with_detail(**{"c-count": 100, "d-count": 100, "x-limit": 301.8}),
        True,
    ),
    (
        "$or none",
        {"detail": {"$or": [{"c-count": [{"numeric": [">", 0, "<=", 5]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}},
        with_detail(**{"c-count": 100, "d-count": 100}),
        False,
    ),
    (
        "$or with source",
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.cloudwatch", "namespace": "AWS/ES"},
        True,
    ),
    (
        "$or with source wrong",
        {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]},
        {"source": "aws.ec2", "namespace": "AWS/ES"},
        False,
    ),
    (
        "$or and inside",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization", "ReadLatency"]},
                {"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
                {"scope": ["Service"]},
            ],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2"},
        True,
    ),
    (
        "$or and inside partial",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"metricType": ["MetricType"], "namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType"},
        False,
    ),
    (
        "$or nested",
        {
            "source": ["aws.cloudwatch"],
            "$or": [
                {"metricName": ["CPUUtilization"]},
                {"metricType": ["MetricType"], "namespace": ["AWS/EC2"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
            ],
        },
        {"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "spaceId": 1000},
        True,
    ),
    (
        "$or parallel",
        {
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
            "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["CloudWatch Alarm State Change"]}]},
        },
        {"namespace": "AWS/EC2", "detail": {"detail-type": "CloudWatch Alarm State Change"}},
        True,
    ),
    # --- complex example with multiple matching ---
    (
        "complex example",
        {
            "time": [{"prefix": "2017-10-02"}],
            "detail": {
                "state": [{"anything-but": "initializing"}],
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"anything-but": [100, 200, 300]}],
                "source-ip": [{"cidr": "10.0.0.0/8"}],
            },
        },
        RULER_EVENT,
        True,
    ),
    (
        "mixed operators in one list",
        {"detail": {"state": ["stopped", {"prefix": "run"}, {"numeric": [">", 1]}]}},
        RULER_EVENT,
        True,
    ),
    # --- arrays of objects (event-ruler README) ---
    (
        "array objects single field",
        {"employees": {"firstName": ["Anna"]}},
        {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]},
        True,
    ),
    (
        "array objects same element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]},
        True,
    ),
    (
        "array objects different elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {
            "employees": [
                [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}],
                [{"firstName": "Peter", "lastName": "Jones"}],
            ]
        },
        False,
    ),
    (
        "array multi level",
        {"employees": {"firstName": ["Peter"], "lastName": ["Jones"]}},
        {"employees": [[{"firstName": "John", "lastName": "Doe"}], [{"firstName": "Peter", "lastName": "Jones"}]]},
        True,
    ),
    (
        "array field outside array",
        {"source": ["x"], "items": {"sku": ["a"], "qty": [1]}},
        {"source": "x", "items": [{"sku": "b", "qty": 1}, {"sku": "a", "qty": 1}]},
        True,
    ),
    ("anything-but on array", {"detail": {"tags": [{"anything-but": "a"}]}}, with_detail(tags=["a", "b"]), True),
    ("anything-but on array all excluded", {"detail": {"tags": [{"anything-but": "a"}]}}, with_detail(tags=["a", "a"]), False),
    ("nested object expected leaf", {"detail": {"state": {"name": ["running"]}}}, with_detail(state="running"), False),
    ("leaf expected object", {"detail": {"state": ["running"]}}, with_detail(state={"name": "running"}), False),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documented_example(pattern: dict[str, object], event: dict[str, object], expected: bool) -> None:
    assert compile_pattern(pattern).matches(event) is expected
    assert compile_pattern(orjson.dumps(pattern).decode()).matches(orjson.dumps(event)) is expected
    rules = RuleSet()
    rules.add("r", pattern)
    assert rules.matching(orjson.dumps(event)) == ({"r"} if expected else set())


def test_all_cases_in_one_ruleset() -> None:
    """The same answers when every example pattern shares one index."""
    rules = RuleSet()
    for name, pattern, _, _ in CASES:
        rules.add(name, pattern)
    for name, _, event, expected in CASES:
        assert (name in rules.matching(event)) is expected, name


def test_test_pattern_entry_point() -> None:
    assert test_pattern('{"source": ["aws.ec2"]}', orjson.dumps(EC2_EVENT)) is True
    assert test_pattern({"source": ["aws.s3"]}, orjson.dumps(EC2_EVENT).decode()) is False
