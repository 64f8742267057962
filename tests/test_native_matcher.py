"""The native fast path (busbar_native, via streams/router/native.py) against the Python reference.

Whenever the native matcher answers, its answer must be the Python path's answer: the record is
a valid envelope (decode_json accepts it), the event id is the same, and the rules it matched
plus those of the rules it names for Python to check that Python matches are what
RuleSet.matching returns. It may answer None only for a record that is no valid envelope, and,
built as the router builds it, it names no rule for Python: the property tests below hold all
of that on every operator family and event shape (nested objects, arrays of objects and of
arrays, duplicate keys, dotted keys, Unicode case including final sigma, big numbers, IPv4 and
IPv6 under cidr, $or), so the equivalence is not won by deferring.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.envelope import MAX_EVENT_BYTES, InvalidEnvelope, decode_json
from streams.patterns import RuleSet
from streams.router.native import EnvelopeMatcher, build_matcher
from tests.test_patterns_array_rule import array_events, array_patterns
from tests.test_patterns_properties import DOTTED, FIELDS, WORDS, event_values, patterns

ENVELOPE = {
    "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "OrderPlaced",
    "source": "shop", "account": "123456789012", "time": "2026-11-27T05:43:56Z", "region": "eu-west-1",
    "resources": ["arn:aws:shop:eu-west-1:123456789012:order/1"],
}


def envelope(detail: Any, **fields: Any) -> dict[str, Any]:
    return {**ENVELOPE, **fields, "detail": detail}


def ruleset_of(patterns_: list[Any]) -> RuleSet:
    ruleset = RuleSet()
    for i, pattern in enumerate(patterns_):
        ruleset.add(f"r{i}", pattern)
    return ruleset


def python_answer(ruleset: RuleSet, raw: bytes) -> tuple[bytes | None, set[Any]] | None:
    """What the router's Python path makes of a record; None for an invalid envelope."""
    try:
        event = decode_json(raw)
    except InvalidEnvelope:
        return None
    event_id = event.get("id")
    return (event_id.encode() if event_id is not None else None), ruleset.matching(event)


def assert_agrees(ruleset: RuleSet, matcher: EnvelopeMatcher, raw: bytes) -> bool:
    """Checks the native answer (of `matcher`, built from `ruleset`) against Python's, the way the
    router combines it with Python's check of the rules it leaves open; True when the native side
    decided every rule."""
    native = matcher.route(raw)
    expected = python_answer(ruleset, raw)
    if native is None:
        assert expected is None or len(raw) > MAX_EVENT_BYTES, f"a valid envelope left to Python: {raw!r}"
        return False
    assert expected is not None, f"native accepted an invalid envelope: {raw!r}"
    event_id, matched, unsure = native
    assert len(matched) == len(set(matched)), "a rule matched twice"
    assert unsure is None or (unsure and not set(unsure) & set(matched)), unsure
    checked = set(ruleset.matching_among(raw, unsure or ()))
    assert (event_id, set(matched) | checked) == expected, raw
    return unsure is None


# --- property tests ----------------------------------------------------------------------------
details = st.one_of(
    st.dictionaries(st.sampled_from(["source", "detail-type", "k", "n", "detail", "items", *DOTTED]),
                    event_values, min_size=1, max_size=6),
    array_events,
)
sources = st.sampled_from([w for w in WORDS if w])


def wrap(rules: list[dict[str, Any]], routing: list[Any]) -> RuleSet:
    """The patterns' vocabulary sits under detail (an envelope has no other free-form field);
    some rules also select on source, as most real rules do."""
    return ruleset_of([{"detail": p} if s is None else {"source": s, "detail": p}
                       for p, s in zip(rules, routing, strict=False)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(st.one_of(patterns, array_patterns), min_size=1, max_size=8),
    routing=st.lists(st.one_of(st.none(), st.lists(sources, min_size=1, max_size=2)), min_size=8, max_size=8),
    samples=st.lists(st.tuples(sources, details), min_size=1, max_size=6),
)
def test_native_agrees_with_the_python_engine(rules: list[dict[str, Any]], routing: list[Any],
                                               samples: list[tuple[str, dict[str, Any]]]) -> None:
    ruleset = wrap(rules, routing)
    matcher = build_matcher(ruleset.items())
    for source, detail in samples:
        assert assert_agrees(ruleset, matcher, orjson.dumps(envelope(detail, source=source)))


# Values where the native side must reproduce Python's details: Unicode case (full mappings,
# final sigma, Kelvin sign, dotted I), numbers beyond the numeric range and beyond 64 bits,
# and addresses inet_pton reads or refuses.
TEXT = ["a", "A", "stra\u00dfe", "STRASSE", "\u0130stanbul", "i\u0307stanbul", "\u212a", "k", "\u01c5",
        "\u03a3\u0391\u03a3", "\u03c3\u03b1\u03c2", "\u1e9e", "\ufb01x", "caf\u00c9", "\U0001e900", ""]
BIG = [6e9, 6000000000, -6e9, 2**63 - 1, -(2**63), 2**64 - 1, 2**63, 1e20, 1.5e10, 5e9, 5000000001, 1e300, 0.5]
IPS = ["10.0.0.5", "10.1.2.3", "10.1.2", "010.1.2.3", "10.1.2.3.", "256.1.1.1", "1.2.3.4:80", "0.0.0.0", "::",
       "::1", "::ffff:10.1.2.3", "2001:db8::1", "2001:DB8:0:0:0:0:0:1", "1::2:3:4:5:6:7", "1:2:3:4:5:6:7::",
       "fe80::1%1", "::ffff:1.2.3", "12345::", "1:::2", "2001:db8::/32", " 10.0.0.5"]
CIDRS = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "0.0.0.0/0", "::/0", "2001:db8::/32", "2001:db8::1/128",
         "::ffff:10.0.0.0/104", "fe80::/10"]
# Capital sigma's lower case depends on its neighbours: cased letters, case-ignorable marks and
# punctuation (U+0301, U+0345, apostrophe, colon, dot), and others.
GREEK = "\u03a3\u03c3\u03c2\u0391\u03b1\u0301\u0345':. Aa1"
native_scalar = st.one_of(st.sampled_from(TEXT), st.sampled_from(BIG), st.sampled_from(IPS),
                          st.sampled_from([True, None, 1, 1.0]))
native_operator = st.one_of(
    st.builds(lambda w: {"equals-ignore-case": w}, st.sampled_from(TEXT)),
    st.builds(lambda w: {"prefix": {"equals-ignore-case": w}}, st.sampled_from(TEXT)),
    st.builds(lambda w: {"suffix": {"equals-ignore-case": w}}, st.sampled_from(TEXT)),
    st.builds(lambda w: {"anything-but": {"equals-ignore-case": w}}, st.sampled_from(TEXT)),
    st.builds(lambda c: {"cidr": c}, st.sampled_from(CIDRS)),
    st.builds(lambda n: {"anything-but": n}, st.sampled_from(BIG)),
    st.builds(lambda n: {"numeric": [">", n]}, st.sampled_from([-5e9, 0, 4e9])),
    st.builds(lambda b: {"exists": b}, st.booleans()),
)
NATIVE_KEYS = [*FIELDS, "items", *DOTTED]
native_leaf = st.lists(st.one_of(native_scalar, native_operator), min_size=1, max_size=3)


def _native_fields(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    fields = st.dictionaries(st.sampled_from(NATIVE_KEYS), children, min_size=1, max_size=3)
    with_or = st.builds(lambda d, alts: {**d, "$or": alts}, fields, st.lists(fields, min_size=2, max_size=3))
    return st.one_of(fields, with_or)


native_patterns = st.recursive(native_leaf, _native_fields, max_leaves=6).filter(lambda p: isinstance(p, dict))


class Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, so that a key can come twice (orjson keeps the last)."""


def dumps(value: Any) -> bytes:
    if isinstance(value, Pairs):
        return b"{" + b",".join(orjson.dumps(k) + b":" + dumps(v) for k, v in value) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(dumps(v) for v in value) + b"]"
    return orjson.dumps(value)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    pairs = st.lists(st.tuples(st.sampled_from(NATIVE_KEYS), children), min_size=1, max_size=5).map(Pairs)
    return st.one_of(pairs, st.lists(children, min_size=1, max_size=3), st.lists(pairs, min_size=1, max_size=3))


native_values = st.recursive(native_scalar, _containers, max_leaves=14)
native_details = st.lists(st.tuples(st.sampled_from(NATIVE_KEYS), native_values), min_size=1, max_size=6).map(Pairs)


def envelope_pairs(detail: Pairs, source: str, repeat: list[tuple[str, Any]]) -> Pairs:
    """An envelope whose fields may come twice; the last of each is the one Python reads."""
    return Pairs([*Pairs(envelope(None, source=source).items())[:-1], *repeat, ("detail", detail)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.lists(st.one_of(native_patterns, patterns, array_patterns), min_size=1, max_size=8),
    routing=st.lists(st.one_of(st.none(), st.lists(sources, min_size=1, max_size=2)), min_size=8, max_size=8),
    samples=st.lists(st.tuples(sources, native_details,
                               st.lists(st.tuples(st.sampled_from(["source", "detail", "id", "time"]),
                                                  st.one_of(sources, native_details, st.just(1))), max_size=1)),
                     min_size=1, max_size=6),
)
def test_native_agrees_on_every_operator_family_and_event_shape(
        rules: list[dict[str, Any]], routing: list[Any], samples: list[tuple[str, Pairs, list[Any]]]) -> None:
    ruleset = wrap(rules, routing)
    matcher = build_matcher(ruleset.items())
    for source, detail, repeat in samples:
        raw = dumps(envelope_pairs(detail, source, repeat))
        assert assert_agrees(ruleset, matcher, raw) or python_answer(ruleset, raw) is None


# Arrays of objects over a tiny vocabulary, nested and in arrays of arrays, with rules asking for
# two or three fields at once: whether they sit in one element decides most matches here.
element = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from([1, 2, "x", [1, 2]]), max_size=3)
elements = st.lists(st.one_of(element, st.lists(element, max_size=2),
                              st.builds(lambda e, sub: {**e, "sub": sub}, element, st.lists(element, max_size=2))),
                    min_size=1, max_size=4)
element_rule = st.dictionaries(st.sampled_from(["a", "b", "c"]),
                               st.lists(st.sampled_from([1, 2, "x", {"exists": False}, {"exists": True},
                                                         {"anything-but": 1}]), min_size=1, max_size=2),
                               min_size=2, max_size=3)
array_rule = st.one_of(
    element_rule.map(lambda r: {"items": r}),
    st.builds(lambda r, sub: {"items": {**r, "sub": sub}}, element_rule, element_rule),
    st.builds(lambda r, alts: {"items": r, "$or": [{"items": a} for a in alts]}, element_rule,
              st.lists(element_rule, min_size=2, max_size=2)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(array_rule, min_size=1, max_size=4), samples=st.lists(elements, min_size=1, max_size=4))
def test_native_applies_the_array_rule_as_python_does(rules: list[dict[str, Any]],
                                                      samples: list[list[Any]]) -> None:
    ruleset = ruleset_of([{"detail": p} for p in rules])
    matcher = build_matcher(ruleset.items())
    for items in samples:
        assert assert_agrees(ruleset, matcher, orjson.dumps(envelope({"items": items})))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=8), st.sampled_from(TEXT), st.text(alphabet=GREEK, max_size=8)),
       pattern=st.sampled_from(TEXT))
def test_ignore_case_lowers_any_text_as_python_does(text: str, pattern: str) -> None:
    ruleset = ruleset_of([{"detail": {"s": [{"equals-ignore-case": pattern}]}},
                          {"detail": {"s": [{"prefix": {"equals-ignore-case": text[:2] or "a"}}]}},
                          {"detail": {"s": [{"suffix": {"equals-ignore-case": text[-2:] or "a"}}]}},
                          {"detail": {"s": [{"equals-ignore-case": text}]}}])
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), orjson.dumps(envelope({"s": text})))


ADDRESS = st.one_of(
    st.sampled_from(IPS),
    st.builds(lambda parts: ".".join(parts), st.lists(st.sampled_from(["0", "1", "01", "255", "256", "10", ""]),
                                                     min_size=3, max_size=5)),
    st.builds(lambda parts: ":".join(parts), st.lists(st.sampled_from(["", "0", "1", "db8", "ffff", "12345", "1.2.3.4",
                                                                       "g", "FFFF"]), min_size=2, max_size=9)),
    st.text(alphabet="0123456789abcdefABCDEF:.%/ ", max_size=20),
)


@settings(max_examples=500, deadline=None)
@given(address=ADDRESS)
def test_cidr_reads_addresses_as_inet_pton_does(address: str) -> None:
    ruleset = ruleset_of([{"detail": {"ip": [{"cidr": block}]}} for block in CIDRS])
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), orjson.dumps(envelope({"ip": address})))


times = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,3})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"),
    st.text(alphabet="0123456789-:TZz+.", max_size=26),
)


@settings(max_examples=500, deadline=None)
@given(time=times)
def test_native_time_check_is_the_python_check(time: str) -> None:
    ruleset = ruleset_of([{"source": ["shop"]}])
    raw = orjson.dumps(envelope({}, time=time))
    decided = build_matcher(ruleset.items()).route(raw) is not None
    assert decided == (python_answer(ruleset, raw) is not None), time


# --- the everyday records are decided natively ----------------------------------------------
DECIDED = [
    ({"source": ["shop"], "detail-type": ["OrderPlaced"]}, envelope({"amount": 5})),
    ({"detail": {"amount": [{"numeric": [">", 1, "<=", 5]}]}}, envelope({"amount": 5})),
    ({"detail": {"amount": [5.0]}}, envelope({"amount": 5})),
    ({"detail": {"amount": [0.3]}}, envelope({"amount": 0.1 + 0.2})),
    ({"detail": {"region": [{"prefix": "eu-"}]}}, envelope({"region": "eu-west-1"})),
    ({"detail": {"file": [{"suffix": ".png"}]}}, envelope({"file": "cat.png"})),
    ({"detail": {"state": [{"equals-ignore-case": "running"}]}}, envelope({"state": "RUNNING"})),
    ({"detail": {"state": [{"prefix": {"equals-ignore-case": "RUN"}}]}}, envelope({"state": "Running"})),
    ({"detail": {"key": [{"wildcard": "a*/b*.txt"}]}}, envelope({"key": "a/x/b/y.txt"})),
    ({"detail": {"tier": [{"anything-but": ["banned", "trial"]}]}}, envelope({"tier": "gold"})),
    ({"detail": {"tier": [{"anything-but": {"prefix": "ban"}}]}}, envelope({"tier": "gold"})),
    ({"detail": {"id": [{"exists": True}]}}, envelope({"id": None})),
    ({"detail": {"id": [{"exists": False}]}}, envelope({"other": 1})),
    ({"detail": {"ok": [True], "gone": [None]}}, envelope({"ok": True, "gone": None})),
    ({"detail": {"tags": ["b"]}}, envelope({"tags": ["a", ["b"]]})),
    ({"detail": {"items": {"sku": ["s1"]}}}, envelope({"items": [{"sku": "s0"}, {"sku": "s1"}]})),
    ({"detail": {"state.status": ["on"]}}, envelope({"state": {"status": "on"}, "x.y": 1})),
    ({"resources": [{"prefix": "arn:aws:shop"}]}, envelope({})),
    ({"$or": [{"source": ["nope"]}, {"detail": {"n": [{"numeric": ["<", 0]}]}}]}, envelope({"n": -1})),
    ({"$or": [{"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}}, {"source": ["shop"]}]}, envelope({"ip": "none"})),
    ({"source": ["shop"]}, envelope({"x": 1e300, "s": "caf\u00e9 \\u00e9", "big": 2**64 - 1})),
    ({"source": ["shop"]}, {k: v for k, v in envelope({}).items() if k not in ("id", "time", "resources")}),
]


@pytest.mark.parametrize(("pattern", "event"), DECIDED)
def test_everyday_records_are_decided_natively_and_agree(pattern: dict[str, Any], event: dict[str, Any]) -> None:
    ruleset = ruleset_of([pattern, {"source": ["other"]}])
    raw = orjson.dumps(event)
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw), "left to Python"
    assert python_answer(ruleset, raw)[1] == {"r0"}  # type: ignore[index]


def test_escaped_text_is_compared_decoded() -> None:
    ruleset = ruleset_of([{"detail": {"s": ["caf\u00e9 \"x\""]}}])
    raw = orjson.dumps(envelope({"s": "?"})).replace(b'"?"', b'"caf\\u00e9 \\"x\\""')
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw)
    assert python_answer(ruleset, raw)[1] == {"r0"}  # type: ignore[index]


def test_a_record_matching_nothing_is_decided_with_no_rules() -> None:
    ruleset = ruleset_of([{"source": ["other"]}])
    assert build_matcher(ruleset.items()).route(orjson.dumps(envelope({}))) == (ENVELOPE["id"].encode(), (), None)


# --- what is left to Python ----------------------------------------------------------------
def _raw(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


LEFT_TO_PYTHON = [
    ("not JSON", b"{not json"),
    ("not an object", b"[1, 2]"),
    ("trailing bytes", _raw(envelope({})) + b" x"),
    ("byte order mark", b"\xef\xbb\xbf" + _raw(envelope({}))),
    ("invalid UTF-8 where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\xff")),
    ("lone surrogate where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\\ud800")),
    ("control character where no rule looks", _raw(envelope({"x": "?"})).replace(b"?", b"\x01")),
    ("number orjson refuses", _raw(envelope({"x": 1})).replace(b'"x":1', b'"x":1e400')),
    ("unknown envelope field", _raw({**envelope({}), "extra": 1})),
    ("empty source", _raw(envelope({}, source=""))),
    ("missing detail-type", _raw({k: v for k, v in envelope({}).items() if k != "detail-type"})),
    ("detail not an object", _raw(envelope([1]))),
    ("resources not strings", _raw(envelope({}, resources=["a", 1]))),
    ("id not a string", _raw(envelope({}, id=7))),
    ("bad time", _raw(envelope({}, time="2026-02-30T00:00:00Z"))),
    ("too large", _raw(envelope({"x": "y" * 300_000}))),
]
LEFT_RULES = [
    {"source": ["shop"]},
    {"detail": {"state": [{"equals-ignore-case": "k"}]}},
    {"detail": {"ip": [{"cidr": "10.0.0.0/8"}]}},
    {"detail": {"n": [6e9]}},
    {"detail": {"items": {"a": [1], "b": [2]}}},
]


@pytest.mark.parametrize(("why", "raw"), LEFT_TO_PYTHON, ids=[why for why, _ in LEFT_TO_PYTHON])
def test_records_that_are_no_valid_envelope_are_left_to_python(why: str, raw: bytes) -> None:
    assert build_matcher(ruleset_of(LEFT_RULES).items()).route(raw) is None, why


def _twice(event: dict[str, Any], key: str, first: Any) -> bytes:
    """The event with `key` given once more before its own value, which is the one that counts."""
    raw = _raw(event)
    field = orjson.dumps(key) + b":"
    return raw.replace(field, field + orjson.dumps(first) + b"," + field, 1)


# Records the native side once left to Python whole, with the rules of LEFT_RULES they match.
DECIDED_NOW = [
    ("a field given twice in the envelope", _twice(envelope({}), "source", "x"), {0}),
    ("the last value of a key given twice counts", _twice(envelope({"state": "a"}), "state", "k"), {0}),
    ("only the last value counts", _twice(envelope({"state": "k"}), "state", "a"), {0, 1}),
    ("an object given twice: only the last one's values", _twice(envelope({"items": {"a": 1}}), "items",
                                                                 {"a": 1, "b": 2}), {0}),
    ("non-ASCII text under equals-ignore-case (Kelvin sign)", _raw(envelope({"state": "\u212a"})), {0, 1}),
    ("capital sigma, lower-cased by its neighbours", _raw(envelope({"state": "\u03a3\u039a"})), {0}),
    ("an IPv4 address in the block", _raw(envelope({"ip": "10.1.2.3"})), {0, 2}),
    ("an IPv4 address outside it", _raw(envelope({"ip": "11.1.2.3"})), {0}),
    ("an IPv4 address with a leading zero is no address", _raw(envelope({"ip": "010.1.2.3"})), {0}),
    ("an IPv6 address is never in an IPv4 block", _raw(envelope({"ip": "::ffff:10.1.2.3"})), {0}),
    ("a big number as a float", _raw(envelope({"n": 6e9})), {0, 3}),
    ("a big number as an integer", _raw(envelope({"n": 6000000000})), {0, 3}),
    ("another big number", _raw(envelope({"n": 2**64 - 1})), {0}),
    ("objects in an array: both in one element", _raw(envelope({"items": [{"a": 1, "b": 2}]})), {0, 4}),
    ("objects in an array: in different elements", _raw(envelope({"items": [{"a": 1}, {"b": 2}]})), {0}),
    ("a key with a dot naming a used path", _raw(envelope({"items.a": 1, "items": {"b": 2}})), {0, 4}),
]


@pytest.mark.parametrize(("why", "raw", "expected"), DECIDED_NOW, ids=[why for why, _, _ in DECIDED_NOW])
def test_duplicates_dots_unicode_addresses_big_numbers_and_arrays_are_decided_natively(
        why: str, raw: bytes, expected: set[int]) -> None:
    ruleset = ruleset_of(LEFT_RULES)
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw), why
    assert python_answer(ruleset, raw)[1] == {f"r{i}" for i in expected}, why  # type: ignore[index]


def test_a_rule_that_cannot_be_decided_natively_is_left_to_python_alone() -> None:
    """Built without Python's case tables, the native side cannot lower-case non-ASCII text: the
    rules testing it are named for Python, every other rule is still decided."""
    ruleset = ruleset_of([*LEFT_RULES, {"detail": {"state": [{"equals-ignore-case": "\u03c3\u03b1\u03c2"}]}}])
    raw = _raw(envelope({"state": "\u03a3\u0391\u03a3", "ip": "10.0.0.1"}))
    without_tables = build_matcher(ruleset.items(), case=False)
    event_id, matched, unsure = without_tables.route(raw)
    assert (set(matched), set(unsure)) == ({"r0", "r2"}, {"r1", "r5"})
    assert ruleset.matching_among(raw, unsure) == ["r5"]
    assert assert_agrees(ruleset, without_tables, raw) is False
    assert assert_agrees(ruleset, build_matcher(ruleset.items()), raw) is True


def test_the_matcher_hands_back_the_rule_ids_it_was_built_with() -> None:
    first, second = object(), object()
    ruleset = RuleSet()
    ruleset.add(first, {"source": ["shop"]})
    ruleset.add(second, {"detail": {"a": [1]}})
    decided = build_matcher(ruleset.items()).route(orjson.dumps(envelope({"a": 1})))
    assert decided is not None
    assert set(decided[1]) == {first, second}
    assert all(rule is first or rule is second for rule in decided[1])


# One sample pattern per operator form; the test below fails if a predicate class has none,
# so an operator cannot be added to the engine without also reaching the index and the native side.
OPERATOR_SAMPLES = [
    ["x"], [3], [True], [None], [{"prefix": "a"}], [{"suffix": "a"}], [{"prefix": {"equals-ignore-case": "a"}}],
    [{"equals-ignore-case": "a"}], [{"wildcard": "a*b"}], [{"numeric": [">", 1]}], [{"cidr": "10.0.0.0/8"}],
    [{"exists": True}], [{"exists": False}], [{"anything-but": "x"}],
]


def _predicate_classes() -> set[str]:
    """By name: `dataclass(slots=True)` replaces each class, and the replaced one may linger
    among the subclasses."""
    from streams.patterns import predicates as pr

    found, todo = set(), [pr.Predicate]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return found


def test_every_predicate_class_has_an_index_family_and_a_native_encoding() -> None:
    from streams.patterns import RuleSet, compile_pattern
    from streams.router.native import build_matcher, encode_predicate

    compiled = [compile_pattern({"detail": {"f": sample}}) for sample in OPERATOR_SAMPLES]
    predicates = [p for pattern in compiled for branch in pattern.branches for c in branch for p in c.predicates]
    assert {type(p).__name__ for p in predicates} == _predicate_classes()
    rules = RuleSet()
    for number, pattern in enumerate(compiled):
        rules.add(number, pattern)  # raises TypeError for a predicate no index family takes
    for p in predicates:
        assert encode_predicate(p)
    assert build_matcher(rules.items()) is not None


def test_the_native_matcher_refuses_envelope_fields_or_numbers_other_than_its_own() -> None:
    from busbar_native import EnvelopeMatcher

    from streams.envelope import FIELDS, MAX_EVENT_BYTES
    from streams.patterns.numeric import MAX_NUMBER, MIN_NUMBER, SCALE

    EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, list(FIELDS), (MIN_NUMBER, MAX_NUMBER, SCALE), [], [])
    with pytest.raises(ValueError, match="envelope fields"):
        EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, [*FIELDS, "extra"], (MIN_NUMBER, MAX_NUMBER, SCALE))
    with pytest.raises(ValueError, match="numeric range"):
        EnvelopeMatcher([], [], [], [], False, MAX_EVENT_BYTES, list(FIELDS), (MIN_NUMBER, MAX_NUMBER, 1000))


@settings(max_examples=300, deadline=None)
@given(point=st.one_of(st.integers(0x40000, 0xDFFFF), st.integers(0xF0000, 0x10FFFF)))
def test_the_planes_left_out_of_the_case_tables_have_no_case(point: int) -> None:
    """python_case reads planes 0-3 and 14 only: elsewhere nothing lower-cases, is cased or is
    case-ignorable (a final sigma after "A" + c would show either of the last two)."""
    c = chr(point)
    assert (c.lower(), ("A" + c + "\u03a3").lower()) == (c, "a" + c + "\u03c3")
