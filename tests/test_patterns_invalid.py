"""Patterns EventBridge refuses: each raises InvalidEventPattern naming the path and the reason."""

from __future__ import annotations

import pytest

from streams.patterns import MAX_PATTERN_LENGTH, InvalidEventPattern, RuleSet, compile_pattern
from streams.patterns.limits import MAX_BRANCHES, MAX_CRITERIA

INVALID: list[tuple[object, str, str]] = [
    # (pattern, expected path in message, expected words of the reason)
    ("not json", "$", "not valid JSON"),
    ("[1, 2]", "$", "must be a JSON object"),
    ("null", "$", "must be a JSON object"),
    ("{}", "$", "empty objects"),
    ({}, "$", "empty objects"),
    (42, "$", "must be a JSON object"),
    ({"source": "aws.ec2"}, "$.source", "must be an object or an array"),
    ({"source": 5}, "$.source", "must be an object or an array"),
    ({"source": []}, "$.source", "empty arrays"),
    ({"detail": {}}, "$.detail", "empty objects"),
    ({"source": [["a"]]}, "$.source[0]", "match value"),
    ({"source": [{}]}, "$.source[0]", "match expression name not found"),
    ({"source": [{"prefix": "a", "suffix": "b"}]}, "$.source[0]", "only one key"),
    ({"source": [{"regex": "a"}]}, "$.source[0]", "unrecognized match type"),
    ({"source": [{"prefix": 5}]}, "$.source[0].prefix", "must be a string"),
    ({"source": [{"prefix": {"equals-ignore-case": 5}}]}, "prefix.equals-ignore-case", "must be a string"),
    ({"source": [{"prefix": {"other": "x"}}]}, "$.source[0].prefix", "equals-ignore-case"),
    ({"source": [{"suffix": ["a"]}]}, "$.source[0].suffix", "must be a string"),
    ({"source": [{"equals-ignore-case": 1}]}, "equals-ignore-case", "must be a string"),
    ({"source": [{"exists": "true"}]}, "$.source[0].exists", "true or false"),
    ({"source": [{"exists": 1}]}, "$.source[0].exists", "true or false"),
    ({"n": [{"numeric": 5}]}, "$.n[0].numeric", "must be an array"),
    ({"n": [{"numeric": [">"]}]}, "$.n[0].numeric", "operator and a number"),
    ({"n": [{"numeric": [">", 1, "<"]}]}, "$.n[0].numeric", "operator and a number"),
    ({"n": [{"numeric": [">", "1"]}]}, "$.n[0].numeric[1]", "must be numeric"),
    ({"n": [{"numeric": [">", True]}]}, "$.n[0].numeric[1]", "must be numeric"),
    ({"n": [{"numeric": ["!=", 1]}]}, "$.n[0].numeric[0]", "unrecognized numeric range operator"),
    ({"n": [{"numeric": [5, 1]}]}, "$.n[0].numeric[0]", "must be a string"),
    ({"n": [{"numeric": [">", 5, "<", 1]}]}, "$.n[0].numeric", "bottom"),
    ({"n": [{"numeric": [">=", 5, "<=", 5]}]}, "$.n[0].numeric", "bottom"),
    ({"n": [{"numeric": [">", 1, ">", 5]}]}, "$.n[0].numeric[2]", "upper-bound"),
    ({"n": [{"numeric": ["<", 5, ">", 1]}]}, "$.n[0].numeric", "lower bound must come first"),
    ({"n": [{"numeric": ["=", 5, "<", 6]}]}, "$.n[0].numeric", "too many"),
    ({"n": [{"numeric": [">", 5e9 + 1]}]}, "$.n[0].numeric[1]", "between"),
    ({"n": [{"numeric": ["<", -6e9]}]}, "$.n[0].numeric[1]", "between"),
    ({"ip": [{"cidr": "10.0.0.0"}]}, "$.ip[0].cidr", "not a CIDR block"),
    ({"ip": [{"cidr": "10.0.0.0/33"}]}, "$.ip[0].cidr", "not a valid CIDR"),
    ({"ip": [{"cidr": "300.0.0.0/8"}]}, "$.ip[0].cidr", "not a valid CIDR"),
    ({"ip": [{"cidr": "10.0.0.0/255.0.0.0"}]}, "$.ip[0].cidr", "not a CIDR block"),
    ({"ip": [{"cidr": "::/129"}]}, "$.ip[0].cidr", "not a valid CIDR"),
    ({"ip": [{"cidr": 10}]}, "$.ip[0].cidr", "must be a string"),
    ({"w": [{"wildcard": "a**b"}]}, "$.w[0].wildcard", "consecutive wildcard"),
    ({"w": [{"wildcard": "a\\b"}]}, "$.w[0].wildcard", "backslash"),
    ({"w": [{"wildcard": "a\\"}]}, "$.w[0].wildcard", "backslash"),
    ({"w": [{"wildcard": 1}]}, "$.w[0].wildcard", "must be a string"),
    ({"s": [{"anything-but": ["a", 1]}]}, "$.s[0].anything-but", "mixed"),
    ({"s": [{"anything-but": []}]}, "$.s[0].anything-but", "empty arrays"),
    ({"s": [{"anything-but": None}]}, "$.s[0].anything-but", "strings or numbers"),
    ({"s": [{"anything-but": [True]}]}, "$.s[0].anything-but[0]", "strings or numbers"),
    ({"s": [{"anything-but": {"numeric": [">", 1]}}]}, "$.s[0].anything-but", "unsupported anything-but"),
    ({"s": [{"anything-but": {"prefix": ""}}]}, "$.s[0].anything-but.prefix", "empty anything-but prefix"),
    ({"s": [{"anything-but": {"prefix": 1}}]}, "$.s[0].anything-but.prefix", "must be a string"),
    ({"s": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}, "$.s[0].anything-but", "only one key"),
    ({"s": [{"anything-but": {"wildcard": ["a**"]}}]}, "$.s[0].anything-but.wildcard[0]", "consecutive"),
    ({"$or": [{"a": ["x"]}]}, "$.$or", "at least 2"),
    ({"$or": {"a": ["x"]}}, "$.$or", "array of objects"),
    ({"$or": [{"a": ["x"]}, "b"]}, "$.$or[1]", "only JSON objects"),
    ({"$or": [{"a": ["x"]}, {}]}, "$.$or[1]", "empty objects"),
    ({"$or": [{"a": ["x"]}, {"prefix": ["b"]}]}, "$.$or[1].prefix", "reserved"),
    ({"$or": [{"a": ["x"]}, {"b": {"numeric": ["c"]}}]}, "$.$or[1].b.numeric", "reserved"),
    ({1: ["x"]}, "$", "field name"),
    ({"a": [float("nan")]}, "$.a[0]", "finite"),
    ({"a": [{"numeric": [">", float("inf")]}]}, "$.a[0].numeric[1]", "finite"),
    ({"a": [object()]}, "$.a[0]", "match value"),
    ({"a": [("tuple",)]}, "$.a[0]", "match value"),
    ('{"a": ["' + "x" * MAX_PATTERN_LENGTH + '"]}', "$", "longer than"),
    ({"a": ["x" * MAX_PATTERN_LENGTH]}, "$", "longer than"),
    ({"a b": "x"}, '$["a b"]', "must be an object or an array"),
]


@pytest.mark.parametrize(("pattern", "path", "reason"), INVALID, ids=[f"{i}" for i in range(len(INVALID))])
def test_invalid_pattern(pattern: object, path: str, reason: str) -> None:
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(pattern)  # type: ignore[arg-type]
    message = str(caught.value)
    assert path in message
    assert reason.lower() in message.lower()
    assert isinstance(caught.value, ValueError)


def test_deep_nesting_refused() -> None:
    pattern: dict[str, object] = {"a": ["x"]}
    for _ in range(200):
        pattern = {"k": pattern}
    with pytest.raises(InvalidEventPattern, match="nested deeper"):
        compile_pattern(pattern)
    with pytest.raises(InvalidEventPattern):
        compile_pattern('{"k":' * 1100 + '["x"]' + "}" * 1100)


def test_cyclic_dict_refused() -> None:
    pattern: dict[str, object] = {"a": ["x"]}
    pattern["b"] = pattern
    with pytest.raises(InvalidEventPattern):
        compile_pattern(pattern)


def test_or_explosion_refused() -> None:
    pattern = {f"f{i}": {"$or": [{"a": ["x"]}, {"b": ["y"]}]} for i in range(11)}
    with pytest.raises(InvalidEventPattern, match="alternatives"):
        compile_pattern(pattern)


def nested_ors(levels: int, extra: dict[str, object] | None = None) -> dict[str, object]:
    """The heavy rule of issue 12: each level's two-way $or multiplies the branches below it."""
    pattern: dict[str, object] = {"source": ["app"], **(extra or {})}
    level: dict[str, object] = {}
    pattern["detail"] = level
    for _ in range(levels):
        deeper: dict[str, object] = {}
        level.update({"$or": [{"a": ["1"]}, {"b": ["2"]}], "c": deeper})
        level = deeper
    level["z"] = ["1"]
    return pattern


def criteria(pattern: dict[str, object]) -> int:
    return sum(len(c.predicates) for branch in compile_pattern(pattern).branches for c in branch)


def test_rule_expanding_past_the_criteria_limit_is_refused() -> None:
    # 1,024 branches of 12 tests each: accepted before the limit, ~6 MB per rule in a worker.
    with pytest.raises(InvalidEventPattern, match=f"expand to more than {MAX_BRANCHES} alternatives"):
        compile_pattern(nested_ors(10))
    with pytest.raises(InvalidEventPattern, match=f"rule is too complex: .* more than the limit of {MAX_CRITERIA}"):
        compile_pattern(nested_ors(7))  # 128 branches x 9 tests = 1,152


def test_values_count_once_per_branch_they_appear_in() -> None:
    six = nested_ors(6)  # 64 branches x 8 tests = 512
    assert criteria(six) == 512
    # seven values of detail-type in each of the 64 branches: 64 x 15 = 960, within the limit
    assert criteria(nested_ors(6, {"detail-type": [f"t{i}" for i in range(7)]})) == 960 <= MAX_CRITERIA
    with pytest.raises(InvalidEventPattern, match="too complex"):  # 64 x 17 = 1,088
        compile_pattern(nested_ors(6, {"detail-type": [f"t{i}" for i in range(9)]}))


def test_many_values_without_or_stay_within_the_limit() -> None:
    # A long list of accounts in one field is what real rules do; it is far from the limit.
    pattern = {"account": [f"{i:012d}" for i in range(250)]}
    assert criteria(pattern) == 250


VALID = [
    {"source": [{"prefix": ""}]},
    {"n": [{"numeric": ["=", 5e9]}, {"numeric": [">=", -5e9]}]},
    {"n": [{"numeric": [">", 0, "<", 0.000002]}]},
    {"ip": [{"cidr": "10.0.0.1/24"}]},
    {"ip": [{"cidr": "::1/128"}]},
    {"w": [{"wildcard": "a*b*c"}, {"wildcard": "\\\\"}]},
    {"s": [{"anything-but": {"equals-ignore-case": "x"}}, {"anything-but": {"prefix": ["a", "b"]}}]},
    {"s": [{"exists": False}, "x"]},
    {"a": {"$or": [{"b": ["1"]}, {"c": {"$or": [{"d": [1]}, {"e": [None]}]}}]}},
    {"big": [12345678901234567890]},
]


@pytest.mark.parametrize("pattern", VALID)
def test_valid_pattern(pattern: dict[str, object]) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.branches
    RuleSet().add("r", compiled)


def test_bad_rule_leaves_ruleset_unchanged() -> None:
    rules = RuleSet()
    rules.add("r", {"source": ["a"]})
    with pytest.raises(InvalidEventPattern):
        rules.add("r", {"source": "a"})
    assert rules.matching({"source": "a"}) == {"r"}
