"""ARNs in EventBridge's forms, and what busbar does with each kind of target ARN.

Target ARNs of AWS's queue and stream services are accepted so that existing definitions
(SDK code, CloudFormation, Terraform) apply unchanged; each lands in a Kafka topic named
after the resource. Kafka topics themselves use MSK's topic ARN form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOCAL_CLUSTER = "local"

# service -> (resource regex, topic naming); group 1 of the regex is the resource name
AWS_TOPIC_SERVICES: dict[str, tuple[re.Pattern[str], str]] = {
    "sqs": (re.compile(r"^([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$"), "sqs.{}"),
    "sns": (re.compile(r"^([A-Za-z0-9_-]{1,256}(?:\.fifo)?)$"), "sns.{}"),
    "kinesis": (re.compile(r"^stream/([A-Za-z0-9_.-]{1,128})$"), "kinesis.{}"),
    "firehose": (re.compile(r"^deliverystream/([A-Za-z0-9_.-]{1,64})$"), "firehose.{}"),
}
KAFKA_TOPIC = re.compile(r"^topic/([A-Za-z0-9_.-]{1,64})/([A-Za-z0-9._-]{1,249})$")
# Lambda's function resource, with an optional version or alias qualifier (which busbar ignores:
# a function has one version, the handler the workers import).
LAMBDA_FUNCTION = re.compile(r"^function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$")
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ARN = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$")


class UnsupportedTarget(ValueError):
    """The ARN is well formed but names a service busbar cannot deliver to."""


@dataclass(frozen=True)
class TargetRef:
    """Where a target's events go: a Kafka topic (on a named cluster), a bus, an API destination or
    a function."""

    kind: str  # "topic" | "bus" | "api-destination" | "function"
    name: str  # topic name, bus name, API destination name or function name
    cluster: str = LOCAL_CLUSTER


def bus_arn(region: str, account: str, bus: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def rule_arn(region: str, account: str, bus: str, rule: str) -> str:
    """AWS leaves the bus out of the ARN of a rule on the default bus."""
    path = rule if bus == "default" else f"{bus}/{rule}"
    return f"arn:aws:events:{region}:{account}:rule/{path}"


def archive_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:archive/{name}"


def replay_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:replay/{name}"


def parse_archive_arn(arn: str) -> str:
    """The archive's name; ValueError naming what is wrong."""
    service, resource = parse_resource_arn(arn)
    kind, _, name = resource.partition("/")
    if service != "events" or kind != "archive" or not name or "/" in name:
        raise ValueError(f"'{arn}' is not the ARN of an archive (arn:aws:events:<region>:<account>:archive/<name>)")
    return name


def schedule_arn(region: str, account: str, group: str, name: str) -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{name}"


def schedule_group_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:scheduler:{region}:{account}:schedule-group/{group}"


def connection_arn(region: str, account: str, name: str, uuid: str) -> str:
    return f"arn:aws:events:{region}:{account}:connection/{name}/{uuid}"


def api_destination_arn(region: str, account: str, name: str, uuid: str) -> str:
    return f"arn:aws:events:{region}:{account}:api-destination/{name}/{uuid}"


def parse_named_arn(arn: str, kind: str) -> tuple[str, str]:
    """(name, uuid) of a connection or API destination ARN (`kind` is `connection` or
    `api-destination`); ValueError naming the form expected."""
    service, resource = parse_resource_arn(arn)
    parts = resource.split("/")
    if service != "events" or len(parts) != 3 or parts[0] != kind or not all(parts):
        raise ValueError(f"'{arn}' is not the ARN of an EventBridge {kind} "
                         f"(arn:aws:events:<region>:<account>:{kind}/<name>/<id>)")
    return parts[1], parts[2]


def function_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def kafka_topic_arn(region: str, account: str, topic: str, cluster: str = LOCAL_CLUSTER) -> str:
    return f"arn:aws:kafka:{region}:{account}:topic/{cluster}/{topic}"


def parse_resource_arn(arn: str) -> tuple[str, str]:
    """(service, resource) of any ARN; ValueError naming what is malformed."""
    match = ARN.match(arn or "")
    if not match:
        raise ValueError(f"'{arn}' is not a valid ARN (arn:partition:service:region:account:resource)")
    return match.group(2), match.group(5)


def parse_bus_or_rule_arn(arn: str) -> tuple[str, str, str | None]:
    """('event-bus', bus, None) or ('rule', bus, rule) for TagResource and friends."""
    service, resource = parse_resource_arn(arn)
    if service == "events":
        if resource.startswith("event-bus/") and len(resource) > len("event-bus/"):
            return "event-bus", resource[len("event-bus/"):], None
        if resource.startswith("rule/"):
            parts = resource[len("rule/"):].split("/")
            if len(parts) == 1 and parts[0]:
                return "rule", "default", parts[0]
            if len(parts) == 2 and all(parts):
                return "rule", parts[0], parts[1]
    raise ValueError(f"'{arn}' is not the ARN of an event bus or a rule")


def parse_target_arn(arn: str) -> TargetRef:
    service, resource = parse_resource_arn(arn)
    if service == "events":
        if resource.startswith("event-bus/") and len(resource) > len("event-bus/"):
            return TargetRef("bus", resource[len("event-bus/"):])
        if resource.startswith("api-destination/"):
            name = resource[len("api-destination/"):].split("/")[0]
            if name:
                return TargetRef("api-destination", name)
        raise UnsupportedTarget(f"'{arn}': EventBridge targets of kind '{resource.split('/')[0]}' are not supported")
    if service == "kafka":
        match = KAFKA_TOPIC.match(resource)
        if not match:
            raise ValueError(f"'{arn}': a Kafka target ARN is arn:aws:kafka:<region>:<account>:topic/<cluster>/<topic>")
        return TargetRef("topic", match.group(2), match.group(1))
    if service == "lambda":
        match = LAMBDA_FUNCTION.match(resource)
        if not match:
            raise ValueError(f"'{arn}': a function ARN is arn:aws:lambda:<region>:<account>:function:<name>"
                             "[:<version or alias>]")
        return TargetRef("function", match.group(1))
    if service in AWS_TOPIC_SERVICES:
        pattern, naming = AWS_TOPIC_SERVICES[service]
        match = pattern.match(resource)
        if not match:
            raise ValueError(f"'{arn}' is not a valid {service} ARN")
        return TargetRef("topic", naming.format(match.group(1)))
    raise UnsupportedTarget(
        f"'{arn}': busbar cannot deliver to the {service} service; supported targets are Kafka topics, event buses, "
        "API destinations, Lambda functions, and SQS/SNS/Kinesis/Firehose ARNs (mapped to Kafka topics)"
    )
