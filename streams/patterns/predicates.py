"""Value predicates: one per operator form, each able to test a single event value.

`test` is the reference semantics. The rule-set index (index.py) evaluates the same
predicates through lookup structures instead; the property tests hold the two equal.
Event values are decoded JSON scalars: str, int, float, bool or None.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cidr import in_block, parse_ip
from .numeric import exact_key, is_number, numeric_key
from .wildcard import wildcard_match


class Predicate:
    """Base class; subclasses are frozen dataclasses so equal predicates share index slots."""

    __slots__ = ()

    def test(self, value: object) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ExactString(Predicate):
    value: str

    def test(self, value: object) -> bool:
        return type(value) is str and value == self.value


@dataclass(frozen=True, slots=True)
class ExactNumber(Predicate):
    """Also `{"numeric": ["=", x]}`: both compare numbers as numbers (3 == 3.0)."""

    key: int | tuple[str, float]

    def test(self, value: object) -> bool:
        return is_number(value) and exact_key(value) == self.key  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ExactLiteral(Predicate):
    """true, false or null, matched by identity so that true never equals 1."""

    value: bool | None

    def test(self, value: object) -> bool:
        return value is self.value


@dataclass(frozen=True, slots=True)
class Prefix(Predicate):
    """`prefix`, optionally with equals-ignore-case (then `text` is lower-cased)."""

    text: str
    ignore_case: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix(Predicate):
    """`suffix`, optionally with equals-ignore-case (then `text` is lower-cased)."""

    text: str
    ignore_case: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.lower() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase(Predicate):
    """`text` is stored lower-cased."""

    text: str

    def test(self, value: object) -> bool:
        return type(value) is str and value.lower() == self.text


@dataclass(frozen=True, slots=True)
class Wildcard(Predicate):
    segments: tuple[str, ...]

    def test(self, value: object) -> bool:
        return type(value) is str and wildcard_match(self.segments, value)


@dataclass(frozen=True, slots=True)
class NumericRange(Predicate):
    """Closed interval of millionths (open bounds already moved inward by one)."""

    low: int
    high: int

    def test(self, value: object) -> bool:
        if not is_number(value):
            return False
        key = numeric_key(value)  # type: ignore[arg-type]
        return key is not None and self.low <= key <= self.high


@dataclass(frozen=True, slots=True)
class Cidr(Predicate):
    version: int
    prefixlen: int
    network: int

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        ip = parse_ip(value)
        return ip is not None and in_block(ip, self.version, self.prefixlen, self.network)


@dataclass(frozen=True, slots=True)
class Exists(Predicate):
    """`exists: true`: any leaf value (null included) is present at the path."""

    def test(self, value: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Absent(Predicate):
    """`exists: false`: satisfied by the absence of leaf values, never by a value."""

    def test(self, value: object) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class AnythingBut(Predicate):
    """Matches a present value that none of `excluded` matches.

    Values of another type than the excluded ones match: anything-but "x" matches 5 and
    null, anything-but [1, 2] matches "1". This mirrors event-ruler, which compares the
    JSON text of values, where a string and a number can never be equal.
    """

    excluded: tuple[Predicate, ...]

    def test(self, value: object) -> bool:
        return not any(p.test(value) for p in self.excluded)


def sort_key(predicate: Predicate) -> str:
    """Stable ordering for predicates of different classes (dataclass repr is deterministic)."""
    return repr(predicate)
