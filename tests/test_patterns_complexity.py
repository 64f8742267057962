"""Wildcard complexity: busbar refuses exactly the wildcard rules EventBridge refuses.

The scores below are event-ruler's own (MachineComplexityEvaluatorTest, which feeds values
without the JSON quotes a rule's values carry); the rule-level cases show the limit and the
ways patterns add up or do not (alternatives on one field share a machine; a field reached
only through `exists: false` is not scored).
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.patterns import InvalidEventPattern, RuleSet, compile_pattern
from streams.patterns.complexity import STAR, TOO_COMPLEX, machine_complexity


def unquoted(*values: str) -> frozenset[tuple[int, ...]]:
    return frozenset(tuple(STAR if c == "*" else ord(c) for c in value) for value in values)


QUAMINA_EXPLODER = [
    "aahed*", "aal*ii", "aargh*", "aarti*", "a*baca", "*abaci", "a*back", "ab*acs", "abaf*t", "*abaka", "ab*amp",
    "a*band", "*abase", "abash*", "abas*k", "ab*ate", "aba*ya", "abbas*", "abbed*", "ab*bes", "abbey*", "*abbot",
    "ab*cee", "abea*m", "abe*ar", "a*bele", "a*bers", "abet*s", "*abhor", "abi*de", "a*bies", "*abled",
]
EVENT_RULER_SCORES = [
    (["*"], 1), (["abc"], 1), (["*", "ab*c"], 3), (["*ab"], 2), (["*aa"], 3), (["a*b"], 2), (["aa*"], 2),
    (["a*bc"], 2), (["a*bb"], 3), (["a*bcb"], 3), (["a*bbb"], 4), (["*ab*ad"], 4), (["*ab*d"], 3),
    (["*aba*"], 4), (["a*b*bb"], 5), (["a*b*cb"], 4), (["a*b*cd"], 3), (["a*b*b"], 4), (["a*bb*"], 4),
    (["ab*b*"], 3), (["ab*c", "x*xx"], 3), (["*abc", "*abcde"], 4), (["a*bcd", "ab*cd"], 4),
    (["a*bc", "a*bcde"], 4), (["a*aaa", "aa*aa"], 7), (["a*bc", "abc*d"], 4), (["a*aaa", "aaa*a"], 6),
    (["a*aax", "aaa*x"], 5), (["a*bc", "abc*"], 4), (["a*aa", "aaa*"], 5), (["abc*", "abcde*"], 3),
    (["ab*cd", "ab*wx", "ab*yz"], 6), (["*ab*b*b*"], 7), (["*a*a*a*a*a*a*a*a*"], 17),
    (["F*eatureFeature", "Fe*atureFeature", "Fea*tureFeature"], 10),
    (QUAMINA_EXPLODER, 45),
]


@pytest.mark.parametrize(("values", "score"), EVENT_RULER_SCORES, ids=[" ".join(v)[:40] for v, _ in EVENT_RULER_SCORES])
def test_scores_are_event_rulers(values: list[str], score: int) -> None:
    assert machine_complexity(unquoted(*values), limit=100) == score


def stacks(*names: str) -> dict[str, Any]:
    return {"resources": [{"wildcard": f"*:stack/{name}/*"} for name in names]}


TOO_COMPLEX_RULES = [
    ("four stack wildcards on one field", stacks("Alpha", "Beta", "Gamma", "Delta")),
    ("a long run of repeats", {"detail": {"key": [{"wildcard": "*a*a*a*a*a*"}]}}),
    ("ten stars: each star stays alive once reached", {"key": [{"wildcard": "a*b*c*d*e*f*g*h*i*j*k"}]}),
    ("alternatives on one field add up", {"$or": [{"k": [{"wildcard": f"*{x}*"}]} for x in "abcdef"]}),
    ("a field after a matched one", {"a": [{"exists": True}], "b": [{"wildcard": "*a*a*a*a*a*a*a*"}]}),
]
ACCEPTED_RULES = [
    ("three stack wildcards on one field", stacks("Alpha", "Beta", "Gamma")),
    ("a shorter run of repeats", {"detail": {"key": [{"wildcard": "*a*a*a*a*"}]}}),
    ("wildcards on different fields do not add up", {f"k{i}": [{"wildcard": "*a*a*a*a*"}] for i in range(6)}),
    ("nine stars, no repeats", {"key": [{"wildcard": "a*b*c*d*e*f*g*h*i*j"}]}),
    ("a field reached only through exists false", {"a": [{"exists": False}], "b": [{"wildcard": "*a*a*a*a*a*a*a*"}]}),
    ("anything-but wildcards are not scored", {"k": [{"anything-but": {"wildcard": "*a*a*a*a*a*a*a*"}}]}),
]


@pytest.mark.parametrize(("why", "pattern"), TOO_COMPLEX_RULES, ids=[w for w, _ in TOO_COMPLEX_RULES])
def test_too_complex_rules_are_refused_with_aws_message(why: str, pattern: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventPattern) as caught:
        compile_pattern(pattern)
    assert str(caught.value) == TOO_COMPLEX, why
    with pytest.raises(InvalidEventPattern):
        RuleSet().add("r", pattern)


@pytest.mark.parametrize(("why", "pattern"), ACCEPTED_RULES, ids=[w for w, _ in ACCEPTED_RULES])
def test_rules_aws_accepts_are_accepted(why: str, pattern: dict[str, Any]) -> None:
    assert compile_pattern(pattern).branches, why


def test_everyday_wildcards_are_accepted_and_match() -> None:
    typical = {"key": [{"wildcard": "arn:aws:s3:::*/*/*.jpg"}], "name": [{"wildcard": "*.png"}]}
    assert compile_pattern(typical).matches({"key": "arn:aws:s3:::b/x/y.jpg", "name": "cat.png"})
