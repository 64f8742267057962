"""EventBridge's JSONPath subset, compiled once per target into a list of steps.

EventBridge documents the paths it supports for InputPath and InputPathsMap as dot notation
with names of letters, digits, ``_``, ``-`` and ``/``, array indices and the ``*`` wildcard;
bracket notation for names, recursive descent (``..``), filters, slices and unions are not part
of it. A general JSONPath engine (jsonpath-ng) parses and walks an AST per lookup, which is
two orders of magnitude slower than the dictionary lookups this subset needs on the
per-event hot path, so paths are evaluated here with plain loops.

Following Jayway JsonPath, the usual Java implementation, a path with a wildcard is
*indefinite* and always yields a list of its matches, possibly empty; any other path yields
the single value it names, or :data:`NOT_FOUND`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from streams.input_shaping.errors import InvalidInputSpec

MAX_PATH_LENGTH: Final = 256


class _NotFound:
    """Type of :data:`NOT_FOUND`, so a JSON ``null`` found in the event stays distinguishable."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_FOUND"


NOT_FOUND: Final = _NotFound()


class _Wildcard:
    __slots__ = ()


_WILDCARD: Final = _Wildcard()

Step = str | int | _Wildcard

# One segment at a time: ".name", ".*", "[123]", "[-1]", "[*]".
_SEGMENT = re.compile(r"\.([\w\-/]+)|\.(\*)|\[(-?\d+)\]|\[(\*)\]")


class CompiledPath:
    """A validated path. ``find(document)`` runs per event (once per path of each matched
    target that shapes its input): the value at this path, :data:`NOT_FOUND`, or for a wildcard
    path the list of matches. It is the path's lookup function bound to its steps when the path
    is compiled, so a lookup is one Python call, not two."""

    __slots__ = ("text", "steps", "definite", "find")

    def __init__(self, text: str, steps: tuple[Step, ...]) -> None:
        self.text = text
        self.steps = steps
        self.definite = not any(step is _WILDCARD for step in steps)
        find = _find_all if not self.definite else _find_names if all(type(s) is str for s in steps) else _find_definite
        self.find: Callable[[Any], Any] = partial(find, steps)


def _find_names(steps: tuple[str, ...], node: Any) -> Any:
    """A path of names only, the usual kind. A JSON value other than an object, subscripted
    with a name, raises TypeError, and a missing name KeyError: no type check per step, which
    makes these lookups a fifth faster than _find_definite's."""
    try:
        for step in steps:
            node = node[step]
    except (KeyError, TypeError):
        return NOT_FOUND
    return node


def _find_definite(steps: tuple[Step, ...], node: Any) -> Any:
    # Type checks guard against Python being more lenient than JSON: "abc"[0] is "a".
    for step in steps:
        if type(step) is str:
            if not isinstance(node, dict):
                return NOT_FOUND
            node = node.get(step, NOT_FOUND)
            if node is NOT_FOUND:
                return NOT_FOUND
        else:
            if not isinstance(node, list):
                return NOT_FOUND
            try:
                node = node[step]  # type: ignore[index]
            except IndexError:
                return NOT_FOUND
    return node


def _find_all(steps: tuple[Step, ...], document: Any) -> list[Any]:
    nodes = [document]
    for step in steps:
        matched: list[Any] = []
        for node in nodes:
            if step is _WILDCARD:
                if isinstance(node, dict):
                    matched.extend(node.values())
                elif isinstance(node, list):
                    matched.extend(node)
            elif type(step) is str:
                if isinstance(node, dict) and step in node:
                    matched.append(node[step])
            elif isinstance(node, list) and -len(node) <= step < len(node):  # type: ignore[operator]
                matched.append(node[step])  # type: ignore[index]
        nodes = matched
    return nodes


def compile_path(text: object, where: str) -> CompiledPath:
    """Parse ``text`` or raise InvalidInputSpec prefixed with ``where`` (the field it came from)."""
    if not isinstance(text, str):
        raise InvalidInputSpec(f"{where}: must be a JSONPath string, got {type(text).__name__}")
    if len(text) > MAX_PATH_LENGTH:
        raise InvalidInputSpec(f"{where}: JSONPath is longer than {MAX_PATH_LENGTH} characters")
    if not text.startswith("$"):
        raise InvalidInputSpec(f"{where}: invalid JSONPath {text!r} (must start with '$')")
    steps: list[Step] = []
    position = 1
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            raise InvalidInputSpec(f"{where}: invalid JSONPath {text!r} ({_why_unsupported(text, position)})")
        name, _, index, _ = match.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(_WILDCARD)
        position = match.end()
    return CompiledPath(text, tuple(steps))


def _why_unsupported(text: str, position: int) -> str:
    """Name the unsupported construct, so the caller knows what to rewrite rather than just where."""
    rest = text[position:]
    if rest.startswith(".."):
        return "recursive descent '..' is not supported"
    if rest.startswith("[?"):
        return "filter expressions are not supported"
    if rest.startswith("['") or rest.startswith('["'):
        return "bracket notation for names is not supported, use dot notation"
    if rest.startswith("[") and (":" in rest.split("]", 1)[0] or "," in rest.split("]", 1)[0]):
        return "array slices and unions are not supported"
    if rest == ".":
        return "ends with '.'"
    return f"unsupported syntax at position {position}: {rest[:20]!r}"
