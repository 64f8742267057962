"""InputTransformer's InputTemplate: checked and split into parts once, filled in per event.

A template is scanned as JSON text with ``<name>`` placeholders in it. Whether a placeholder
sits inside a quoted JSON string or stands where a JSON value goes decides how its value is
written, which is the one rule behind both of EventBridge's template kinds: a "string
template" such as ``"instance <instance> is in <state>"`` is just a JSON string literal whose
placeholders all sit inside quotes, so no separate string mode is needed.

The literal text between placeholders is minified here, at compile time (EventBridge hands
targets minified JSON), so rendering is a join of precomputed bytes and encoded values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

from streams.input_shaping.errors import InvalidInputSpec, ShapingFailed
from streams.input_shaping.paths import NOT_FOUND, CompiledPath

RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
PREDEFINED: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})

MAX_TEMPLATE_LENGTH: Final = 8192

# Part kinds: plain ints compared with == keep the per-event render loop free of calls.
_LITERAL: Final = 0
_VALUE: Final = 1  # placeholder where a JSON value goes
_IN_STRING: Final = 2  # placeholder inside a quoted string
_EVENT_VALUE: Final = 3  # <aws.events.event>
_EVENT_JSON_VALUE: Final = 4  # <aws.events.event.json>

# Names are InputPathsMap keys ([A-Za-z0-9_-]+) or the dotted predefined ones; a "<" not
# followed by such a name and ">" (as in "a < b") is ordinary text.
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_JSON_WHITESPACE = " \t\n\r"

# Key order and the detailType spelling are those EventBridge writes for <aws.events.event>.
_EVENT_SUMMARY_KEYS: Final = (
    ("id", "id"),
    ("account", "account"),
    ("detail-type", "detailType"),
    ("time", "time"),
    ("source", "source"),
    ("region", "region"),
    ("resources", "resources"),
    ("version", "version"),
)

_FIELD = "InputTransformer.InputTemplate"


class CompiledTemplate:
    """The parts of one template and the paths it needs; :meth:`render` runs per event."""

    __slots__ = ("_parts", "_finds")

    def __init__(self, parts: tuple[tuple[int, Any], ...], paths: tuple[tuple[str, CompiledPath], ...]) -> None:
        self._parts = parts
        self._finds = tuple((name, path.find) for name, path in paths)

    def render(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        values: dict[str, Any] = {RULE_ARN: rule_arn, RULE_NAME: rule_name, INGESTION_TIME: ingestion_time}
        for name, find in self._finds:
            values[name] = find(event)
        out: list[bytes] = []
        append = out.append
        for kind, payload in self._parts:
            if kind == _LITERAL:
                append(payload)
            elif kind == _VALUE:
                value = values[payload]
                append(b'""' if value is NOT_FOUND else dumps(value))
            elif kind == _IN_STRING:
                append(_in_string(values[payload], payload))
            elif kind == _EVENT_JSON_VALUE:
                append(raw)
            else:
                append(dumps(_event_summary(event)))
        return b"".join(out)


def dumps(value: Any) -> bytes:
    """Compact JSON; falls back to the stdlib for what orjson refuses (ints past 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _in_string(value: Any, name: str) -> bytes:
    """Text of ``value`` escaped for the inside of a JSON string.

    EventBridge itself inserts the text unescaped, so a value with a quote or a backslash
    breaks its output; escaping gives the same bytes whenever EventBridge's output is valid
    and valid JSON where it is not. An object or an array has no text EventBridge can place
    there: it sends the target nothing, and ShapingFailed says why.
    """
    if type(value) is str:
        return dumps(value)[1:-1]
    if value is NOT_FOUND:
        return b""
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        raise ShapingFailed(
            f"InputTemplate places <{name}> inside a JSON string, and its value in this event is {kind}; "
            "EventBridge sends no input for such an event"
        )
    return dumps(value)  # number, true, false, null: their JSON text needs no escaping


def _event_summary(event: dict[str, Any]) -> dict[str, Any]:
    return {out_key: event[key] for key, out_key in _EVENT_SUMMARY_KEYS if key in event}


def compile_template(template: object, paths: Mapping[str, CompiledPath]) -> CompiledTemplate:
    """Check ``template`` against ``paths`` (the compiled InputPathsMap) and split it into parts."""
    if not isinstance(template, str):
        raise InvalidInputSpec(f"{_FIELD}: is required and must be a string")
    if not template:
        raise InvalidInputSpec(f"{_FIELD}: must not be empty")
    if len(template) > MAX_TEMPLATE_LENGTH:
        raise InvalidInputSpec(f"{_FIELD}: is longer than {MAX_TEMPLATE_LENGTH} characters")
    if not template.isascii():
        try:
            template.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputSpec(f"{_FIELD}: contains an unpaired surrogate, which UTF-8 cannot carry") from None
    scanner = _Scanner(template, paths)
    scanner.scan()
    scanner.check_probe()
    return CompiledTemplate(tuple(scanner.parts), tuple(scanner.used.items()))


class _Scanner:
    """One pass over the template building two things side by side.

    ``parts`` is the minified template split at placeholders. ``probe`` is the template as
    written with every placeholder replaced by a stand-in (``null`` where a value goes,
    nothing inside a string); whatever values an event supplies, the rendered output is
    valid JSON exactly when the probe is, so parsing the probe once is the PutTargets check.
    """

    def __init__(self, template: str, paths: Mapping[str, CompiledPath]) -> None:
        self.template = template
        self.paths = paths
        self.parts: list[tuple[int, Any]] = []
        self.used: dict[str, CompiledPath] = {}
        self.probe: list[str] = []
        # (probe offset, template offset) after each placeholder, to report errors in template positions.
        self.offsets: list[tuple[int, int]] = [(0, 0)]
        self._probe_length = 0
        self._literal: list[str] = []

    def scan(self) -> None:
        template = self.template
        position = 0
        in_string = False
        depth = 0
        emitted = False
        whitespace_pending = False
        while position < len(template):
            char = template[position]
            if in_string:
                if char == "\\":
                    escape = template[position : position + 2]
                    self._copy(escape)
                    position += len(escape)
                    continue
                if char == '"':
                    in_string = False
                elif char == "<" and (match := _PLACEHOLDER.match(template, position)):
                    self._placeholder(match, in_string=True)
                    position = match.end()
                    continue
                self._copy(char)
                position += 1
                continue
            if char in _JSON_WHITESPACE:
                whitespace_pending = True
                self._probe_append(char)
                position += 1
                continue
            if whitespace_pending and depth == 0 and emitted:
                # Values side by side at the top level (e.g. CDK's RuleTargetInput.fromMultilineText
                # writes one JSON string per line) keep one newline between them.
                self._literal.append("\n")
            whitespace_pending = False
            emitted = True
            if char == "<" and (match := _PLACEHOLDER.match(template, position)):
                self._placeholder(match, in_string=False)
                position = match.end()
                continue
            if char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
            self._copy(char)
            position += 1
        self._flush()

    def check_probe(self) -> None:
        probe = "".join(self.probe)
        decoder = json.JSONDecoder(parse_constant=_reject_constant)
        position = 0
        values = 0
        while True:
            while position < len(probe) and probe[position] in _JSON_WHITESPACE:
                position += 1
            if position == len(probe):
                break
            try:
                _, position = decoder.raw_decode(probe, position)
            except ValueError as exc:
                where = exc.pos if isinstance(exc, json.JSONDecodeError) else position
                raise InvalidInputSpec(
                    f"{_FIELD}: not valid JSON with placeholders filled in"
                    f" ({getattr(exc, 'msg', exc)}, template character {self._template_offset(where)})"
                ) from None
            values += 1
        if values == 0:
            raise InvalidInputSpec(f"{_FIELD}: must not be only whitespace")

    def _placeholder(self, match: re.Match[str], *, in_string: bool) -> None:
        name = match.group(1)
        if name not in self.paths and name not in PREDEFINED:
            raise InvalidInputSpec(f"{_FIELD}: placeholder <{name}> is not defined in InputPathsMap")
        if in_string and name in (EVENT, EVENT_JSON):
            raise InvalidInputSpec(
                f"{_FIELD}: <{name}> inserts unescaped JSON, so it can only stand as a JSON value, not inside quotes"
            )
        if not in_string and self._is_object_key(match.end()):
            raise InvalidInputSpec(f"{_FIELD}: placeholder <{name}> cannot be used as an object key")
        self._flush()
        if name == EVENT:
            self.parts.append((_EVENT_VALUE, None))
        elif name == EVENT_JSON:
            self.parts.append((_EVENT_JSON_VALUE, None))
        else:
            self.parts.append((_IN_STRING if in_string else _VALUE, name))
            if name in self.paths:
                self.used.setdefault(name, self.paths[name])
        self._probe_append("" if in_string else "null")
        self.offsets.append((self._probe_length, match.end()))

    def _is_object_key(self, position: int) -> bool:
        rest = self.template[position:].lstrip(_JSON_WHITESPACE)
        return rest.startswith(":")

    def _copy(self, text: str) -> None:
        self._literal.append(text)
        self._probe_append(text)

    def _probe_append(self, text: str) -> None:
        self.probe.append(text)
        self._probe_length += len(text)

    def _flush(self) -> None:
        if self._literal:
            self.parts.append((_LITERAL, "".join(self._literal).encode()))
            self._literal = []

    def _template_offset(self, probe_offset: int) -> int:
        start_probe, start_template = max(pair for pair in self.offsets if pair[0] <= probe_offset)
        return start_template + probe_offset - start_probe


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
