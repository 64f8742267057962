"""Numbers as EventBridge compares them.

EventBridge (event-ruler's ComparableNumber) only compares numbers in [-5e9, 5e9], to six
digits after the decimal point. We turn each such number into an integer count of
millionths, so that equality is dict lookup and ranges are closed integer intervals (an open
bound `> x` becomes `>= x + 1e-6`). Rounding is to nearest: the docs promise six digits, and
nearest rounding makes 0.1 + 0.2 equal 0.3, which truncation would not.
"""

from __future__ import annotations

MIN_NUMBER = -5_000_000_000
MAX_NUMBER = 5_000_000_000
SCALE = 1_000_000
MIN_KEY = MIN_NUMBER * SCALE
MAX_KEY = MAX_NUMBER * SCALE


def is_number(value: object) -> bool:
    """JSON numbers only: bool is an int subclass in Python but `true` is not a number."""
    t = type(value)
    return t is int or t is float


def numeric_key(value: int | float) -> int | None:
    """Millionths for in-range numbers; None where numeric comparison does not apply."""
    if MIN_NUMBER <= value <= MAX_NUMBER:
        if type(value) is int:
            return value * SCALE
        return round(value * SCALE)
    return None


def exact_key(value: int | float) -> int | tuple[str, float]:
    """Key under which exact number matching compares, so that 3 and 3.0 are equal.

    Numbers outside the numeric range (account ids written as numbers, say) still match
    exactly, by value; the tuple keeps them from colliding with millionth counts.
    """
    key = numeric_key(value)
    if key is None:
        return ("big", value)
    return key
