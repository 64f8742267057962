"""compile_input: a target's input settings checked once, turned into the object used per event."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Final

import orjson

from streams.input_shaping.errors import InvalidInputSpec
from streams.input_shaping.paths import NOT_FOUND, CompiledPath, compile_path
from streams.input_shaping.template import CompiledTemplate, compile_template, dumps

MAX_INPUT_LENGTH: Final = 8192
MAX_PATHS: Final = 100
MAX_PATH_NAME_LENGTH: Final = 256
_PATH_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_CHOICES: Final = ("Input", "InputPath", "InputTransformer")


class InputShaper(ABC):
    """What a matched event becomes before it is sent to one target."""

    __slots__ = ()

    @abstractmethod
    def shape(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        """The payload for the target.

        ``event`` and ``raw`` are the same event parsed and serialized; taking both lets each
        shaper use whichever costs nothing (the default sends ``raw`` untouched).
        ``ingestion_time`` is the ISO 8601 time busbar accepted the event.
        """


class _WholeEvent(InputShaper):
    __slots__ = ()

    def shape(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        return raw


class _Constant(InputShaper):
    __slots__ = ("_payload",)

    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def shape(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        return self._payload


class _Path(InputShaper):
    __slots__ = ("_path",)

    def __init__(self, path: CompiledPath) -> None:
        self._path = path

    def shape(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        value = self._path.find(event)
        return b"null" if value is NOT_FOUND else dumps(value)


class _Transformer(InputShaper):
    __slots__ = ("_template",)

    def __init__(self, template: CompiledTemplate) -> None:
        self._template = template

    def shape(self, event: dict[str, Any], raw: bytes, *, rule_arn: str, rule_name: str, ingestion_time: str) -> bytes:
        return self._template.render(
            event, raw, rule_arn=rule_arn, rule_name=rule_name, ingestion_time=ingestion_time
        )


_WHOLE_EVENT: Final = _WholeEvent()


def compile_input(target: Mapping[str, Any]) -> InputShaper:
    """Validate a PutTargets target's input settings and return its shaper.

    Raises InvalidInputSpec for anything PutTargets would refuse, so that a bad target is
    rejected when it is stored rather than failing on every event it matches. Keys set to
    None count as absent, because JSON request bodies may carry explicit nulls.
    """
    if not isinstance(target, Mapping):
        raise InvalidInputSpec(f"target must be an object, got {type(target).__name__}")
    given = [key for key in _CHOICES if target.get(key) is not None]
    if len(given) > 1:
        raise InvalidInputSpec(f"more than one of Input, InputPath, InputTransformer: {', '.join(given)}")
    if not given:
        return _WHOLE_EVENT
    if given[0] == "Input":
        return _Constant(_compile_constant(target["Input"]))
    if given[0] == "InputPath":
        path = compile_path(target["InputPath"], "InputPath")
        return _WHOLE_EVENT if not path.steps else _Path(path)
    return _Transformer(_compile_transformer(target["InputTransformer"]))


def _compile_constant(text: object) -> bytes:
    if not isinstance(text, str):
        raise InvalidInputSpec(f"Input must be a string of JSON, got {type(text).__name__}")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidInputSpec(f"Input is longer than {MAX_INPUT_LENGTH} characters")
    try:
        payload = text.encode()
        orjson.loads(payload)
    except (UnicodeEncodeError, orjson.JSONDecodeError) as exc:
        raise InvalidInputSpec(f"Input is not valid JSON: {exc}") from None
    return payload


def _compile_transformer(transformer: object) -> CompiledTemplate:
    if not isinstance(transformer, Mapping):
        raise InvalidInputSpec("InputTransformer must be an object with InputTemplate and optional InputPathsMap")
    paths_map = transformer.get("InputPathsMap") or {}
    if not isinstance(paths_map, Mapping):
        raise InvalidInputSpec("InputTransformer.InputPathsMap must be an object of name: JSONPath")
    if len(paths_map) > MAX_PATHS:
        raise InvalidInputSpec(
            f"InputTransformer.InputPathsMap has {len(paths_map)} entries, at most {MAX_PATHS} are allowed"
        )
    paths: dict[str, CompiledPath] = {}
    for name, path in paths_map.items():
        _check_name(name)
        paths[name] = compile_path(path, f"InputTransformer.InputPathsMap.{name}")
    return compile_template(transformer.get("InputTemplate"), paths)


def _check_name(name: object) -> None:
    """Names become placeholders, so the predefined aws.* ones must not be shadowed."""
    if not isinstance(name, str):
        raise InvalidInputSpec(f"InputTransformer.InputPathsMap: name {name!r} is not a string")
    if name.lower().startswith("aws."):
        raise InvalidInputSpec(f"InputTransformer.InputPathsMap.{name}: names starting with 'aws.' are reserved")
    if len(name) > MAX_PATH_NAME_LENGTH or not _PATH_NAME.fullmatch(name):
        raise InvalidInputSpec(
            f"InputTransformer.InputPathsMap: name {name!r} must be 1-{MAX_PATH_NAME_LENGTH} letters, digits, '_' or '-'"
        )
