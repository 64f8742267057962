"""The model-driven parameter checks and paging, without a server: AWS's messages and codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.model import Shape

from streams.api.errors import SerializationException, ValidationException
from streams.api.operations.common import paginate
from streams.api.operations.rules import check_schedule
from streams.api.validation import service_model, validate


def refusal(operation: str, params: object) -> ValidationException:
    with pytest.raises(ValidationException) as exc:
        validate(operation, params)
    return exc.value


def test_valid_params_pass_unchanged() -> None:
    params = {"Name": "r-1.x_y", "EventPattern": "{}", "State": "DISABLED", "Tags": [{"Key": "k", "Value": ""}]}
    assert validate("PutRule", params) is params


def test_constraints_are_reported_together_in_aws_form() -> None:
    message = refusal("PutTargets", {"Rule": "r", "Targets": [{"Id": "x" * 65, "Arn": ""}]}).message
    assert message.startswith("2 validation errors detected: ")
    assert ("Value '" + "x" * 65 + "' at 'targets.1.member.id' failed to satisfy constraint: "
            "Member must have length less than or equal to 64") in message
    assert "at 'targets.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 1" \
        in message


@pytest.mark.parametrize(("operation", "params", "expected"), [
    ("PutRule", {}, "Value null at 'name' failed to satisfy constraint: Member must not be null"),
    ("PutRule", {"Name": "a b"}, r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"),
    ("PutRule", {"Name": "r", "State": "ON"}, "Member must satisfy enum value set: [ENABLED, DISABLED,"),
    ("ListRules", {"Limit": 0}, "at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ("PutEvents", {"Entries": []}, "at 'entries' failed to satisfy constraint: Member must have length greater"),
    ("PutEvents", {"Entries": [{}] * 11}, "Value '[PutEventsRequestEntry]' at 'entries' failed"),
    ("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumEventAgeInSeconds": 5}}]},
     "at 'targets.1.member.retryPolicy.maximumEventAgeInSeconds'"),
])
def test_each_kind_of_constraint(operation: str, params: dict[str, object], expected: str) -> None:
    assert expected in refusal(operation, params).message


def test_sensitive_values_are_not_echoed() -> None:
    target = {"Id": "t", "Arn": "a", "RedshiftDataParameters": {"Database": "d", "Sql": ""}}
    message = refusal("PutTargets", {"Rule": "r", "Targets": [target]}).message
    assert "Value '***' at 'targets.1.member.redshiftDataParameters.sql'" in message


@pytest.mark.parametrize("params", [
    [], {"Limit": "10"}, {"Limit": 1.5}, {"Limit": True}, {"NamePrefix": 5}, {"EventBusName": None, "Limit": {}},
])
def test_wrong_json_types_are_serialization_errors(params: object) -> None:
    with pytest.raises(SerializationException):
        validate("ListRules", params)


def test_timestamps_are_epoch_numbers() -> None:
    validate("PutEvents", {"Entries": [{"Time": 1767225600.5}]})
    with pytest.raises(SerializationException):
        validate("PutEvents", {"Entries": [{"Time": "2026-01-01T00:00:00Z"}]})


NULL = "failed to satisfy constraint: Member must not be null"


@pytest.mark.parametrize(("operation", "params", "path"), [
    ("PutRule", {"Name": "r", "Description": None}, "description"),
    ("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": None}}]},
     "targets.1.member.retryPolicy.maximumRetryAttempts"),
    ("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": "a", "DeadLetterConfig": None}]},
     "targets.1.member.deadLetterConfig"),
    ("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": "a", "InputTransformer": {
        "InputPathsMap": {"s": None}, "InputTemplate": "<s>"}}]}, "targets.1.member.inputTransformer.inputPathsMap.s"),
    ("PutEvents", {"Entries": [None]}, "entries.1.member"),
    ("PutEvents", {"Entries": [{"Resources": ["a", None]}]}, "entries.1.member.resources.2.member"),
    ("TagResource", {"ResourceARN": "a", "Tags": [{"Key": "k", "Value": None}]}, "tags.1.member.value"),
])
def test_a_null_is_refused_at_any_depth_naming_its_path(operation: str, params: dict[str, Any], path: str) -> None:
    assert f"Value null at '{path}' {NULL}" in refusal(operation, params).message


def test_nulls_are_reported_with_the_other_constraints() -> None:
    target = {"Id": "x" * 65, "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": None}}
    message = refusal("PutTargets", {"Rule": "r", "Targets": [target]}).message
    assert message.startswith("2 validation errors detected: ")
    assert "'targets.1.member.id'" in message and "'targets.1.member.retryPolicy.maximumRetryAttempts'" in message


@pytest.mark.parametrize(("value", "wanted"), [("3", "an integer"), (2.5, "an integer"), ([3], "an integer")])
def test_a_wrong_type_at_depth_is_a_serialization_error_naming_its_path(value: object, wanted: str) -> None:
    target = {"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": value}}
    with pytest.raises(SerializationException) as exc:
        validate("PutTargets", {"Rule": "r", "Targets": [target]})
    assert exc.value.message.startswith(f"'targets.1.member.retryPolicy.maximumRetryAttempts' must be {wanted}, got")


def _null_bodies(shape: Shape, path: str = "", seen: frozenset[str] = frozenset()) -> Iterator[tuple[Any, str]]:
    """(body, path) for every member reachable from `shape`: a body holding null at that member,
    and the containers leading to it, in the path form AWS's messages use."""
    if shape.name in seen:
        return  # a recursive shape: its members were reached already
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            here = f"{path}.{name[0].lower()}{name[1:]}" if path else f"{name[0].lower()}{name[1:]}"
            yield {name: None}, here
            for body, inner in _null_bodies(member, here, seen):
                yield {name: body}, inner
    elif shape.type_name == "list":
        yield [None], f"{path}.1.member"
        for body, inner in _null_bodies(shape.member, f"{path}.1.member", seen):  # type: ignore[attr-defined]
            yield [body], inner
    elif shape.type_name == "map":
        yield {"k": None}, f"{path}.k"
        for body, inner in _null_bodies(shape.value, f"{path}.k", seen):  # type: ignore[attr-defined]
            yield {"k": body}, inner


def test_every_operation_refuses_a_null_at_every_member() -> None:
    checked = 0
    for operation in service_model().operation_names:
        shape = service_model().operation_model(operation).input_shape
        for body, path in _null_bodies(shape) if shape is not None else ():
            assert f"Value null at '{path}' {NULL}" in refusal(operation, body).message, (operation, path)
            checked += 1
    assert checked > 300  # the whole model was walked, not a corner of it


def test_paging_continues_after_the_last_key_even_when_items_change() -> None:
    names = ["a", "b", "c", "d", "e"]
    page, more = paginate(names, str, {"Limit": 2})
    assert page == ["a", "b"]
    page, more = paginate(["a", "b", "bb", "c", "d", "e"], str, {"Limit": 2, **more})  # "bb" created meanwhile
    assert page == ["bb", "c"]
    page, more = paginate(names, str, {"Limit": 2, **more})
    assert (page, more) == (["d", "e"], {})
    with pytest.raises(ValidationException):
        paginate(names, str, {"NextToken": "garbage"})


@pytest.mark.parametrize(("expression", "valid"), [
    ("rate(1 minute)", True), ("rate(5 minutes)", True), ("rate(2 days)", True), ("cron(0 12 * * ? *)", True),
    ("rate(1 minutes)", False), ("rate(5 minute)", False), ("rate(0 minutes)", False), ("cron(0 12 * *)", False),
    ("every 5 minutes", False),
])
def test_schedule_expressions(expression: str, valid: bool) -> None:
    if valid:
        check_schedule(expression)
    else:
        with pytest.raises(ValidationException):
            check_schedule(expression)
