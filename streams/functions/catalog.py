"""The functions a worker knows, each with its handler imported (or why it cannot be) and its slots.

A declaration is imported once, when it first appears or its handler or environment changes,
in a thread (user code may take its time importing); a handler that cannot be imported is
logged then, and each invocation of it fails with that reason, so its events follow the
target's retry policy to the dead-letter queue while the worker runs on. Changed code in an
already imported module is not reloaded: restart the workers to run it.

MaxConcurrency is per worker: it bounds this worker's invocations of the function at once. A
changed limit takes a new set of slots; invocations running in the old ones finish there.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from streams.function_definition import FunctionDefinition, InvalidFunction, parse_function
from streams.handler_import import Handler, HandlerUnavailable, import_handler
from streams.model import Change

log = logging.getLogger(__name__)


@dataclass
class Function:
    definition: FunctionDefinition
    handler: Handler | None = None
    problem: str = ""  # why the handler cannot be imported
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))

    async def load(self) -> None:
        definition = self.definition
        try:
            self.handler = await asyncio.get_running_loop().run_in_executor(
                None, import_handler, definition.handler, definition.environment)
            self.problem = ""
            log.info("function %s: handler %s imported", definition.name, definition.handler)
        except HandlerUnavailable as exc:
            self.handler, self.problem = None, str(exc)
            log.error("function %s: %s; its invocations fail until the worker can import it",
                      definition.name, exc)


class Catalog:
    def __init__(self) -> None:
        self.functions: dict[str, Function] = {}

    def get(self, name: str) -> Function | None:
        return self.functions.get(name)

    async def apply(self, change: Change) -> str | None:
        """Take one config change; the function's name when the change is to a function, else None."""
        if change.kind != "function":
            return None
        name = change.key.split("/", 1)[1]
        if change.new is None:
            self.functions.pop(name, None)
            return name
        try:
            definition = parse_function(change.new)
        except InvalidFunction as exc:  # written by something other than the API
            log.error("function %s: its record is not valid (%s); ignored", name, exc)
            self.functions.pop(name, None)
            return name
        current = self.functions.get(name)
        function = Function(definition, slots=asyncio.Semaphore(definition.max_concurrency))
        if current is not None and (current.definition.handler, current.definition.environment) == (
                definition.handler, definition.environment) and current.handler is not None:
            function.handler = current.handler
        else:
            await function.load()
        if current is not None and current.definition.max_concurrency == definition.max_concurrency:
            function.slots = current.slots
        self.functions[name] = function
        return name
