"""Validate an event pattern and compile it into branches of field conditions.

A compiled pattern is a tuple of branches (its `$or` alternatives multiplied out); a branch
is a tuple of Conditions, all of which must hold; a Condition is a path plus the predicates
listed for it, any one of which may hold. Validation follows event-ruler's rule compiler
(the matcher behind EventBridge): each refusal raises InvalidEventPattern naming the JSON
path of the offending part. Nothing else escapes, whatever the input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from .cidr import parse_cidr
from .consistency import ruler_key
from .errors import InvalidEventPattern
from .limits import MAX_BRANCHES, MAX_CRITERIA, MAX_DEPTH, MAX_PATTERN_LENGTH
from .numeric import MAX_KEY, MAX_NUMBER, MIN_KEY, MIN_NUMBER, exact_key, numeric_key
from .predicates import (
    Absent,
    AnythingBut,
    Cidr,
    EqualsIgnoreCase,
    ExactLiteral,
    ExactNumber,
    ExactString,
    Exists,
    NumericRange,
    Predicate,
    Prefix,
    Suffix,
    Wildcard,
    sort_key,
)
from .wildcard import parse_wildcard

Path = tuple[str, ...]

OPERATORS = (
    "prefix",
    "suffix",
    "equals-ignore-case",
    "anything-but",
    "numeric",
    "exists",
    "cidr",
    "wildcard",
)
# event-ruler refuses operator names as field names inside `$or`, where a misplaced
# operator object would otherwise silently become a field.
_RESERVED_IN_OR = frozenset(OPERATORS) | {"exactly"}
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")


@dataclass(frozen=True, slots=True)
class Condition:
    """One field of a branch: the path holds if any predicate matches one of its values."""

    path: Path
    predicates: tuple[Predicate, ...]

    @property
    def accepts_absent(self) -> bool:
        return any(type(p) is Absent for p in self.predicates)

    def order(self) -> tuple[Any, ...]:
        """Where this condition goes in its branch, so rule-set tries share prefixes.

        Exact-only conditions come first (most selective, cheapest lookups), then other
        positive operators, then exists/anything-but, then those satisfied by absence.
        Shallow paths (source, detail-type) come before deep ones within a rank; those
        satisfied by absence go in event-ruler's field order instead, which the array rule
        for `exists: false` depends on (consistency.py).
        """
        kinds = {type(p) for p in self.predicates}
        if kinds <= {ExactString, ExactNumber, ExactLiteral}:
            rank = 0
        elif Absent in kinds:
            rank = 3
        elif kinds & {AnythingBut, Exists}:
            rank = 2
        else:
            rank = 1
        predicates = ",".join(sort_key(p) for p in self.predicates)
        if rank == 3:
            return rank, ruler_key(self.path), predicates
        return rank, len(self.path), self.path, predicates


Branch = tuple[Condition, ...]


def json_path(parent: str, key: str | int) -> str:
    """JSONPath-style location for error messages."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _PLAIN_KEY.match(key):
        return f"{parent}.{key}"
    return f"{parent}[{orjson.dumps(key).decode()}]"


def load_pattern(pattern: object) -> dict[str, Any]:
    """Decode and size-check a pattern given as JSON text or as a decoded object."""
    if isinstance(pattern, bytes | bytearray | memoryview):
        try:
            pattern = bytes(pattern).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidEventPattern("$", "event pattern is not valid UTF-8") from None
    if isinstance(pattern, str):
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise InvalidEventPattern("$", f"event pattern is longer than {MAX_PATTERN_LENGTH} characters")
        try:
            decoded = orjson.loads(pattern)
        except orjson.JSONDecodeError as exc:
            raise InvalidEventPattern("$", f"event pattern is not valid JSON: {exc}") from None
    else:
        decoded = pattern
    if not isinstance(decoded, dict):
        raise InvalidEventPattern("$", "event pattern must be a JSON object")
    return decoded


def _check_size(pattern: dict[str, Any]) -> None:
    """Applies the length limit to patterns given as objects (after the structure walk)."""
    try:
        size = len(orjson.dumps(pattern))
    except (orjson.JSONEncodeError, TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise InvalidEventPattern("$", f"event pattern is not JSON-serialisable: {exc}") from None
    if size > MAX_PATTERN_LENGTH:
        raise InvalidEventPattern("$", f"event pattern is longer than {MAX_PATTERN_LENGTH} characters")


def compile_branches(pattern: object) -> tuple[Branch, ...]:
    """Validate a pattern and return its branches, each sorted by Condition.order."""
    decoded = load_pattern(pattern)
    compiler = _Compiler()
    branches = compiler.object(decoded, (), "$", 0, False)
    if not isinstance(pattern, str | bytes | bytearray | memoryview):
        _check_size(decoded)
    result: list[Branch] = []
    seen: set[Branch] = set()
    for branch in branches:
        ordered = tuple(sorted(set(branch), key=Condition.order))
        if ordered not in seen:
            seen.add(ordered)
            result.append(ordered)
    _check_criteria(result)
    return tuple(result)


def _check_criteria(branches: list[Branch]) -> None:
    """Refuses a pattern whose expansion would cost every worker more memory than MAX_CRITERIA allows."""
    criteria = sum(len(condition.predicates) for branch in branches for condition in branch)
    if criteria > MAX_CRITERIA:
        raise InvalidEventPattern(
            "$", f"rule is too complex: its {len(branches)} $or combinations test {criteria} values in all, "
                 f"more than the limit of {MAX_CRITERIA}; use fewer $or alternatives or fewer values"
        )


def _multiply(left: list[list[Condition]], right: list[list[Condition]], where: str) -> list[list[Condition]]:
    if len(left) * len(right) > MAX_BRANCHES:
        raise InvalidEventPattern(where, f"$or combinations expand to more than {MAX_BRANCHES} alternatives")
    return [a + b for a in left for b in right]


class _Compiler:
    """One pattern's compilation (the rule-wide wildcard complexity is judged after it, complexity.py)."""

    def object(self, obj: dict[Any, Any], path: Path, where: str, depth: int, in_or: bool) -> list[list[Condition]]:
        if depth > MAX_DEPTH:
            raise InvalidEventPattern(where, f"event pattern is nested deeper than {MAX_DEPTH} levels")
        if not obj:
            raise InvalidEventPattern(where, "empty objects are not allowed")
        branches: list[list[Condition]] = [[]]
        for key, value in obj.items():
            if not isinstance(key, str):
                raise InvalidEventPattern(where, f"field name {key!r} is not a string")
            here = json_path(where, key)
            if key == "$or":
                alternatives = self.alternatives(value, path, here, depth)
                branches = _multiply(branches, alternatives, here)
                continue
            if in_or and key in _RESERVED_IN_OR:
                raise InvalidEventPattern(here, f"{key!r} is a reserved name and cannot be a field inside $or")
            # EventBridge names a field by its keys joined with dots, so the key "a.b" is the
            # path a, b: it matches {"a": {"b": ...}} as well as the key "a.b" (flatten.py).
            steps = (*path, *key.split("."))
            if isinstance(value, dict):
                sub = self.object(value, steps, here, depth + 1, in_or)
                branches = _multiply(branches, sub, here)
            elif isinstance(value, list):
                condition = self.leaf(value, steps, here)
                branches = [b + [condition] for b in branches]
            else:
                raise InvalidEventPattern(here, f"{key!r} must be an object or an array")
        return branches

    def alternatives(self, value: object, path: Path, where: str, depth: int) -> list[list[Condition]]:
        if not isinstance(value, list):
            raise InvalidEventPattern(where, "$or must be an array of objects")
        if len(value) < 2:
            raise InvalidEventPattern(where, "$or must contain at least 2 objects")
        result: list[list[Condition]] = []
        for i, item in enumerate(value):
            here = json_path(where, i)
            if not isinstance(item, dict):
                raise InvalidEventPattern(here, "only JSON objects are allowed in a $or array")
            result.extend(self.object(item, path, here, depth + 1, True))
            if len(result) > MAX_BRANCHES:
                raise InvalidEventPattern(where, f"$or combinations expand to more than {MAX_BRANCHES} alternatives")
        return result

    def leaf(self, values: list[Any], path: Path, where: str) -> Condition:
        if not values:
            raise InvalidEventPattern(where, "empty arrays are not allowed")
        predicates: set[Predicate] = set()
        for i, item in enumerate(values):
            here = json_path(where, i)
            if isinstance(item, dict):
                predicates.add(self.operator(item, here))
            else:
                predicates.add(_scalar(item, here))
        return Condition(path, tuple(sorted(predicates, key=sort_key)))

    def operator(self, expr: dict[Any, Any], where: str) -> Predicate:
        if len(expr) != 1:
            reason = "match expression name not found" if not expr else "only one key allowed in match expression"
            raise InvalidEventPattern(where, reason)
        ((name, arg),) = expr.items()
        here = json_path(where, name) if isinstance(name, str) else where
        if name == "prefix" or name == "suffix":
            text, ignore_case = _affix_argument(name, arg, here)
            return Prefix(text, ignore_case) if name == "prefix" else Suffix(text, ignore_case)
        if name == "equals-ignore-case":
            return EqualsIgnoreCase(_string(arg, here, name).lower())
        if name == "wildcard":
            return self.wildcard(arg, here)
        if name == "anything-but":
            return self.anything_but(arg, here)
        if name == "numeric":
            return _numeric(arg, here)
        if name == "exists":
            if type(arg) is not bool:
                raise InvalidEventPattern(here, "exists match pattern must be either true or false")
            return Exists() if arg else Absent()
        if name == "cidr":
            return Cidr(*parse_cidr(_string(arg, here, name), here))
        raise InvalidEventPattern(where, f"unrecognized match type {name!r}")

    def wildcard(self, arg: object, where: str) -> Wildcard:
        return Wildcard(parse_wildcard(_string(arg, where, "wildcard"), where))

    def anything_but(self, arg: object, where: str) -> AnythingBut:
        if isinstance(arg, dict):
            if len(arg) != 1:
                raise InvalidEventPattern(where, "only one key allowed in anything-but expression")
            ((name, inner),) = arg.items()
            here = json_path(where, name) if isinstance(name, str) else where
            items = inner if isinstance(inner, list) else [inner]
            if not items:
                raise InvalidEventPattern(here, "empty arrays are not allowed")
            excluded: list[Predicate] = []
            for i, item in enumerate(items):
                at = json_path(here, i) if isinstance(inner, list) else here
                if name in ("prefix", "suffix"):
                    text = _string(item, at, f"anything-but {name}")
                    if not text:
                        raise InvalidEventPattern(at, f"empty anything-but {name} is not allowed")
                    excluded.append(Prefix(text) if name == "prefix" else Suffix(text))
                elif name == "equals-ignore-case":
                    excluded.append(EqualsIgnoreCase(_string(item, at, "anything-but equals-ignore-case").lower()))
                elif name == "wildcard":
                    excluded.append(self.wildcard(item, at))
                else:
                    raise InvalidEventPattern(where, f"unsupported anything-but pattern {name!r}")
            return AnythingBut(tuple(sorted(set(excluded), key=sort_key)))
        items = arg if isinstance(arg, list) else [arg]
        if not items:
            raise InvalidEventPattern(where, "empty arrays are not allowed")
        kinds = set()
        values: list[Predicate] = []
        for i, item in enumerate(items):
            at = json_path(where, i) if isinstance(arg, list) else where
            if type(item) is str:
                kinds.add("string")
                values.append(ExactString(item))
            elif type(item) in (int, float):
                kinds.add("number")
                values.append(ExactNumber(exact_key(_finite(item, at))))
            else:
                raise InvalidEventPattern(
                    at, "anything-but values must be strings or numbers (not null, booleans, objects or arrays)"
                )
        if len(kinds) > 1:
            raise InvalidEventPattern(where, "anything-but list must be all strings or all numbers, not mixed")
        return AnythingBut(tuple(sorted(set(values), key=sort_key)))


def _scalar(item: object, where: str) -> Predicate:
    t = type(item)
    if t is str:
        return ExactString(item)  # type: ignore[arg-type]
    if t is bool or item is None:
        return ExactLiteral(item)  # type: ignore[arg-type]
    if t is int or t is float:
        return ExactNumber(exact_key(_finite(item, where)))  # type: ignore[arg-type]
    raise InvalidEventPattern(where, "match value must be a string, number, true, false, null or operator object")


def _finite(value: Any, where: str) -> int | float:
    if type(value) is float and not math.isfinite(value):
        raise InvalidEventPattern(where, "numbers must be finite")
    return value  # type: ignore[no-any-return]


def _string(arg: object, where: str, operator: str) -> str:
    if type(arg) is not str:
        raise InvalidEventPattern(where, f"{operator} match pattern must be a string")
    return arg  # type: ignore[return-value]


def _affix_argument(name: str, arg: object, where: str) -> tuple[str, bool]:
    if isinstance(arg, dict):
        if len(arg) != 1 or "equals-ignore-case" not in arg:
            raise InvalidEventPattern(where, f"{name} accepts a string or {{\"equals-ignore-case\": string}}")
        inner = json_path(where, "equals-ignore-case")
        return _string(arg["equals-ignore-case"], inner, f"{name} equals-ignore-case").lower(), True
    return _string(arg, where, name), False


_LOWER = {">": False, ">=": True}
_UPPER = {"<": False, "<=": True}


def _numeric(arg: object, where: str) -> Predicate:
    """`numeric`: ["=", x] | [lower-op, x] | [upper-op, x] | [lower-op, x, upper-op, y]."""
    if not isinstance(arg, list):
        raise InvalidEventPattern(where, "value of numeric must be an array")
    if len(arg) not in (2, 4):
        raise InvalidEventPattern(where, "numeric expects an operator and a number, or two of each (a range)")
    operands: list[int] = []
    for i in range(1, len(arg), 2):
        number = arg[i]
        at = json_path(where, i)
        if type(number) not in (int, float):
            raise InvalidEventPattern(at, f"value of {arg[i - 1]!r} must be numeric")
        _finite(number, at)
        if not MIN_NUMBER <= number <= MAX_NUMBER:
            raise InvalidEventPattern(at, f"value must be between {MIN_NUMBER:.1e} and {MAX_NUMBER:.1e}, inclusive")
        operands.append(numeric_key(number))  # type: ignore[arg-type]
    first, second = arg[0], (arg[2] if len(arg) == 4 else None)
    for i, op in ((0, first), (2, second)):
        if op is not None and type(op) is not str:
            raise InvalidEventPattern(json_path(where, i), "numeric operator must be a string")
    if first == "=":
        if len(arg) != 2:
            raise InvalidEventPattern(where, "too many elements in numeric expression")
        return ExactNumber(operands[0])
    if first in _UPPER:
        if len(arg) != 2:
            raise InvalidEventPattern(where, "too many elements in numeric expression (lower bound must come first)")
        return NumericRange(MIN_KEY, operands[0] if _UPPER[first] else operands[0] - 1)
    if first not in _LOWER:
        raise InvalidEventPattern(json_path(where, 0), f"unrecognized numeric range operator {first!r}")
    low = operands[0] if _LOWER[first] else operands[0] + 1
    if len(arg) == 2:
        return NumericRange(low, MAX_KEY)
    if second not in _UPPER:
        raise InvalidEventPattern(json_path(where, 2), f"bad numeric range upper-bound operator {second!r}")
    if operands[0] >= operands[1]:
        raise InvalidEventPattern(where, "bottom of a numeric range must be less than its top")
    return NumericRange(low, operands[1] if _UPPER[second] else operands[1] - 1)
