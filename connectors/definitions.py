"""Config definitions: what keys a connector takes, checked one key at a time.

Kafka Connect users read a connector's settings from its ConfigDef (type, default, whether it
is required, documentation) and get one error per bad key from the validate endpoint; this is
that, small. Values arrive as JSON from the REST API, where Kafka Connect configs are strings,
so numbers and booleans are accepted in either form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# What Kafka Connect shows instead of a PASSWORD value.
HIDDEN = "[hidden]"
Check = Callable[[Any], str | None]  # an error message, or None when the value is fine


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # STRING, INT, BOOLEAN, PASSWORD, LIST (Kafka Connect's type names)
    doc: str
    required: bool = False
    default: Any = None
    choices: Sequence[str] = ()
    check: Check | None = None

    def definition(self, order: int) -> dict[str, Any]:
        """The `definition` part of a validate answer, as Kafka Connect shapes it."""
        return {"name": self.name, "type": self.type, "required": self.required,
                "default_value": None if self.default is None else str(self.default),
                "importance": "HIGH" if self.required else "MEDIUM", "documentation": self.doc,
                "group": None, "width": "NONE", "display_name": self.name, "dependents": [], "order": order}

    def parse(self, raw: Any) -> Any:
        """The value in its Python type; ValueError with the reason when it is not one (a
        PASSWORD's value is never quoted in it)."""
        if self.type == "PASSWORD":
            if not isinstance(raw, str):
                raise ValueError(f"Invalid value {HIDDEN} for configuration {self.name}: Expected a string")
            return raw
        if self.type == "INT":
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError(f"Invalid value {raw} for configuration {self.name}: Not a number of type INT")
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"Invalid value {raw} for configuration {self.name}: Not a number of type INT") from None
        if self.type == "BOOLEAN":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            raise ValueError(f"Invalid value {raw} for configuration {self.name}: Expected value to be either true or false")
        if self.type == "LIST":
            if isinstance(raw, list):
                return [str(item) for item in raw]
            if isinstance(raw, str):
                return [item.strip() for item in raw.split(",") if item.strip()]
            raise ValueError(f"Invalid value {raw} for configuration {self.name}: Expected a comma separated list")
        if not isinstance(raw, str):
            raise ValueError(f"Invalid value {raw} for configuration {self.name}: Expected a string")
        if self.choices and raw not in self.choices:
            raise ValueError(f"Invalid value {raw} for configuration {self.name}: "
                             f"String must be one of: {', '.join(self.choices)}")
        return raw


# Keys every connector takes, whatever its class: Kafka Connect's own.
COMMON = (
    Field("connector.class", "STRING", "Name or alias of the connector's class.", required=True),
    Field("name", "STRING", "The connector's name (taken from the request when absent)."),
    Field("tasks.max", "INT", "Most tasks the connector runs.", default=1,
          check=lambda v: None if v >= 1 else "Value must be at least 1"),
)


def parse_config(fields: Sequence[Field], config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(parsed values with defaults, errors by key). Unknown keys are kept as given and not
    errors, as in Kafka Connect (converters, transforms and client overrides live there)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        raw = config.get(field.name)
        if raw is None or raw == "":
            if field.required:
                errors[field.name] = [f'Missing required configuration "{field.name}" which has no default value.']
            elif field.default is not None:
                values[field.name] = field.default
            continue
        try:
            value = field.parse(raw)
        except ValueError as exc:
            errors[field.name] = [str(exc)]
            continue
        problem = field.check(value) if field.check is not None else None
        if problem is not None:
            errors[field.name] = [f"Invalid value {raw} for configuration {field.name}: {problem}"]
            continue
        values[field.name] = value
    known = {field.name for field in fields}
    values.update({key: value for key, value in config.items() if key not in known})
    return values, errors


def masked(fields: Sequence[Field], config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as the REST API shows it: PASSWORD values hidden, everything else as given."""
    secret = {field.name for field in fields if field.type == "PASSWORD"}
    return {key: (HIDDEN if key in secret and value is not None else value) for key, value in config.items()}


def validation_report(class_name: str, fields: Sequence[Field], config: Mapping[str, Any],
                      errors: Mapping[str, list[str]]) -> dict[str, Any]:
    """The body of `PUT /connector-plugins/{class}/config/validate`."""
    shown = masked(fields, config)
    configs = []
    for order, field in enumerate(fields, start=1):
        value = shown.get(field.name, field.default)
        configs.append({"definition": field.definition(order),
                        "value": {"name": field.name, "value": None if value is None else str(value),
                                  "recommended_values": list(field.choices), "errors": list(errors.get(field.name, [])),
                                  "visible": True}})
    return {"name": class_name, "error_count": sum(len(e) for e in errors.values()), "groups": ["Common"],
            "configs": configs}
