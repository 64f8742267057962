"""Dynamic HttpParameters: JSONPath values read from the matched event (pure, no broker)."""

from __future__ import annotations

import pytest

from streams.input_shaping import InvalidInputSpec
from streams.input_shaping.http_parameters import DynamicParameters

EVENT = {"source": "shop", "detail": {"id": 42, "tags": ["a"], "name": "x y"}}


def test_paths_take_their_values_from_the_event_and_literals_stay() -> None:
    http = {"PathParameterValues": ["$.detail.id", "fixed"],
            "HeaderParameters": {"x-src": "$.source", "x-tags": "$.detail.tags", "x-plain": "v"},
            "QueryStringParameters": {"name": "$.detail.name", "gone": "$.detail.missing"}}
    parameters = DynamicParameters(http)
    assert parameters.any
    assert parameters.resolve(EVENT) == {
        "PathParameterValues": ["42", "fixed"],
        "HeaderParameters": {"x-src": "shop", "x-tags": '["a"]', "x-plain": "v"},
        "QueryStringParameters": {"name": "x y", "gone": ""}}


def test_literal_only_parameters_need_no_work_per_event() -> None:
    assert not DynamicParameters({"HeaderParameters": {"a": "b"}, "PathParameterValues": ["c"]}).any
    assert not DynamicParameters({}).any


def test_a_malformed_path_is_refused_naming_the_member() -> None:
    with pytest.raises(InvalidInputSpec, match="HttpParameters.QueryStringParameters.q"):
        DynamicParameters({"QueryStringParameters": {"q": "$.detail..x"}})
