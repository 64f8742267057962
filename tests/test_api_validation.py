"""The model-driven parameter checks and paging, without a server: AWS's messages and codes."""

from __future__ import annotations

import pytest

from streams.api.errors import SerializationException, ValidationException
from streams.api.operations.common import paginate
from streams.api.operations.rules import check_schedule
from streams.api.validation import validate


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
