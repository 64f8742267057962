"""The `wildcard` operator: `*` matches any run of characters, `\\*` and `\\\\` are literals.

A pattern is kept as its literal segments between stars. Matching anchors the first and last
segments and finds the middle ones left to right; greedy leftmost search is exact for a
glob with only `*`, and it is linear in the value for each segment, so no wildcard can make
matching blow up the way a backtracking regex can.
"""

from __future__ import annotations

from .errors import InvalidEventPattern


def parse_wildcard(text: str, path: str) -> tuple[str, ...]:
    """Literal segments of a wildcard pattern; one segment means it has no star."""
    segments: list[str] = []
    current: list[str] = []
    i = 0
    previous_star = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in "*\\":
                raise InvalidEventPattern(path, "backslash may only escape '*' or '\\' in a wildcard")
            current.append(text[i + 1])
            i += 2
            previous_star = False
            continue
        if ch == "*":
            if previous_star:
                raise InvalidEventPattern(path, "consecutive wildcard characters are not allowed")
            segments.append("".join(current))
            current = []
            previous_star = True
        else:
            current.append(ch)
            previous_star = False
        i += 1
    segments.append("".join(current))
    return tuple(segments)


def wildcard_match(segments: tuple[str, ...], value: str) -> bool:
    """Whether a string matches the parsed wildcard."""
    first = segments[0]
    if len(segments) == 1:
        return value == first
    last = segments[-1]
    if len(value) < len(first) + len(last) or not value.startswith(first) or not value.endswith(last):
        return False
    pos = len(first)
    end = len(value) - len(last)
    for seg in segments[1:-1]:
        if not seg:
            continue
        found = value.find(seg, pos, end)
        if found < 0:
            return False
        pos = found + len(seg)
    return True
