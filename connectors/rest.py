"""Kafka Connect's REST API on the worker's web server: same paths, shapes and errors.

Any worker answers any request, as in a Kafka Connect cluster: writes go to the config topic
(`connector/<name>`), reads come from the worker's copy of it and of the status topic.
Errors are `{"error_code": <status>, "message": ...}` with Kafka Connect's statuses: 400 for
an invalid request or config, 404 for an unknown connector, 409 for a name already taken.
PASSWORD values (webhook secrets) are shown as "[hidden]", and a "[hidden]" sent back in a
PUT keeps the stored secret, so a GET-edit-PUT round trip does not overwrite it.

When the worker has credentials configured (BUSBAR_CREDENTIALS_FILE or BUSBAR_ACCESS_KEY_ID),
requests must be SigV4-signed like the EventBridge API's; the check is handed in by the
worker as `authenticate`, so this module knows nothing of the API's internals.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from connectors.definitions import HIDDEN, masked, validation_report
from connectors.http import BodyTooLarge, read_capped
from connectors.plugin import Connector
from connectors.registry import full_name, plugin_list, resolve
from connectors.runtime import ConnectorRuntime
from connectors.status import PAUSED, RUNNING
from streams.config_store import ConfigStore, ConfigStoreError
from streams.model import connector_key

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576
READY_TIMEOUT_S = 30.0
Authenticate = Callable[[web.Request, bytes], None]  # raises PermissionError(message) to refuse
Handler = Callable[[web.Request, bytes], Awaitable[web.Response]]


class ConnectError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _not_found(name: str) -> ConnectError:
    return ConnectError(404, f"Connector {name} not found")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class ConnectRest:
    def __init__(self, runtime: ConnectorRuntime, store: ConfigStore, authenticate: Authenticate | None) -> None:
        self.runtime = runtime
        self.store = store
        self.authenticate = authenticate

    def add_routes(self, router: web.UrlDispatcher) -> None:
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/connectors", self.list_connectors),
            ("POST", "/connectors", self.create),
            ("GET", "/connectors/{name}", self.info),
            ("GET", "/connectors/{name}/config", self.get_config),
            ("PUT", "/connectors/{name}/config", self.put_config),
            ("GET", "/connectors/{name}/status", self.status),
            ("GET", "/connectors/{name}/tasks", self.tasks),
            ("PUT", "/connectors/{name}/pause", self.pause),
            ("PUT", "/connectors/{name}/resume", self.resume),
            ("POST", "/connectors/{name}/restart", self.restart),
            ("DELETE", "/connectors/{name}", self.delete),
            ("GET", "/connector-plugins", self.plugins),
            ("PUT", "/connector-plugins/{plugin}/config/validate", self.validate),
        ]
        for method, path, handler in routes:
            router.add_route(method, path, self._wrap(handler))

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            try:
                try:
                    body = await read_capped(request, MAX_BODY_BYTES)
                except BodyTooLarge as exc:
                    raise ConnectError(413, f"Request body exceeds {exc.limit} bytes") from None
                if self.authenticate is not None:
                    try:
                        self.authenticate(request, body)
                    except PermissionError as exc:
                        raise ConnectError(401, str(exc)) from None
                try:
                    await self.runtime.wait_ready(READY_TIMEOUT_S)
                except TimeoutError:
                    raise ConnectError(503, "The worker is still starting; retry shortly.") from None
                return await handler(request, body)
            except ConnectError as exc:
                return _json({"error_code": exc.status, "message": exc.message}, exc.status)
            except ConfigStoreError as exc:
                return _json({"error_code": 500, "message": f"Could not write the config topic: {exc}"}, 500)
            except Exception:
                log.exception("connectors API: %s %s failed", request.method, request.path)
                return _json({"error_code": 500, "message": "Internal server error"}, 500)
        return serve

    # --- reading ---------------------------------------------------------------------------
    def _record(self, name: str) -> dict[str, Any]:
        record = self.store.model.connector(name)
        if record is None:
            raise _not_found(name)
        return record

    def _shown(self, record: Mapping[str, Any]) -> dict[str, Any]:
        config = record["config"]
        cls = resolve(str(config.get("connector.class", "")))
        return masked(cls.fields(), config) if cls is not None else dict(config)

    def _info(self, record: Mapping[str, Any]) -> dict[str, Any]:
        name = record["name"]
        return {"name": name, "config": self._shown(record),
                "tasks": [{"connector": name, "task": index} for index in range(self._task_count(record))],
                "type": self._type(record)}

    def _task_count(self, record: Mapping[str, Any]) -> int:
        inst = self.runtime.instance(record["name"])
        if inst is not None and inst.generation == record.get("generation"):
            return inst.task_count()
        return 1

    @staticmethod
    def _type(record: Mapping[str, Any]) -> str:
        cls = resolve(str(record["config"].get("connector.class", "")))
        return cls.TYPE if cls is not None else "unknown"

    def _status(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.runtime.status.report(record["name"], record.get("state", RUNNING), self._task_count(record),
                                          self._type(record))

    async def list_connectors(self, request: web.Request, _body: bytes) -> web.Response:
        records = self.store.model.connectors()
        expand = request.query.getall("expand", [])
        if not expand:
            return _json([record["name"] for record in records])
        answer: dict[str, dict[str, Any]] = {}
        for record in records:
            entry: dict[str, Any] = {}
            if "status" in expand:
                entry["status"] = self._status(record)
            if "info" in expand:
                entry["info"] = self._info(record)
            answer[record["name"]] = entry
        return _json(answer)

    async def info(self, request: web.Request, _body: bytes) -> web.Response:
        return _json(self._info(self._record(request.match_info["name"])))

    async def get_config(self, request: web.Request, _body: bytes) -> web.Response:
        return _json(self._shown(self._record(request.match_info["name"])))

    async def status(self, request: web.Request, _body: bytes) -> web.Response:
        return _json(self._status(self._record(request.match_info["name"])))

    async def tasks(self, request: web.Request, _body: bytes) -> web.Response:
        record = self._record(request.match_info["name"])
        return _json([{"id": {"connector": record["name"], "task": index}, "config": self._shown(record)}
                      for index in range(self._task_count(record))])

    async def plugins(self, _request: web.Request, _body: bytes) -> web.Response:
        return _json(plugin_list())

    # --- writing ---------------------------------------------------------------------------
    async def create(self, _request: web.Request, body: bytes) -> web.Response:
        request = _object(body)
        name = request.get("name")
        config = request.get("config")
        if not isinstance(name, str) or not name.strip():
            raise ConnectError(400, "Connector name is null or empty")
        if not isinstance(config, dict):
            raise ConnectError(400, "Connector config is missing or not an object")
        if self.store.model.connector(name) is not None:
            raise ConnectError(409, f"Connector {name} already exists")
        return await self._write(name, config, None, created_status=201)

    async def put_config(self, request: web.Request, body: bytes) -> web.Response:
        name = request.match_info["name"]
        config = _object(body)
        existing = self.store.model.connector(name)
        return await self._write(name, config, existing, created_status=201)

    async def _write(self, name: str, config: dict[str, Any], existing: Mapping[str, Any] | None, *,
                     created_status: int) -> web.Response:
        _check_name(name)
        given_name = config.get("name")
        if given_name is not None and given_name != name:
            raise ConnectError(400, f"Connector name configuration ({given_name}) doesn't match connector name "
                                    f"in the URL ({name})")
        config = {**{k: _as_text(v) for k, v in config.items()}, "name": name}
        cls = _class_of(config)
        if existing is not None:  # "[hidden]" sent back means: keep the stored secret
            for field in cls.fields():
                if field.type == "PASSWORD" and config.get(field.name) == HIDDEN:
                    config[field.name] = existing["config"].get(field.name)
        _values, errors = cls.validate(config, self.runtime.env)
        if errors:
            lines = "\n".join(error for errs in errors.values() for error in errs)
            count = sum(len(errs) for errs in errors.values())
            raise ConnectError(400, f"Connector configuration is invalid and contains the following {count} "
                                    f"error(s):\n{lines}\nYou can also find the above list of errors at the "
                                    "endpoint `/connector-plugins/{connectorType}/config/validate`")
        if existing is not None and existing["config"] == config:  # nothing changed: nothing restarts
            return _json(self._info(existing), 200)
        record = {"name": name, "config": config,
                  "state": existing.get("state", RUNNING) if existing else RUNNING,
                  "generation": int(existing.get("generation", 0)) + 1 if existing else 1}
        await self.store.awrite(connector_key(name), record)
        return _json(self._info(record), 200 if existing is not None else created_status)

    async def _set_state(self, request: web.Request, state: str) -> web.Response:
        record = self._record(request.match_info["name"])
        if record.get("state") != state:
            await self.store.awrite(connector_key(record["name"]), {**record, "state": state})
        return web.Response(status=202)

    async def pause(self, request: web.Request, _body: bytes) -> web.Response:
        return await self._set_state(request, PAUSED)

    async def resume(self, request: web.Request, _body: bytes) -> web.Response:
        return await self._set_state(request, RUNNING)

    async def restart(self, request: web.Request, _body: bytes) -> web.Response:
        record = self._record(request.match_info["name"])
        restarted = {**record, "generation": int(record.get("generation", 0)) + 1}
        await self.store.awrite(connector_key(record["name"]), restarted)
        if request.query.get("includeTasks", "false").lower() == "true":
            return _json(self._status(restarted), 202)
        return web.Response(status=204)

    async def delete(self, request: web.Request, _body: bytes) -> web.Response:
        record = self._record(request.match_info["name"])
        await self.store.awrite(connector_key(record["name"]), None)
        await self.runtime.status.forget(record["name"])
        return web.Response(status=204)

    async def validate(self, request: web.Request, body: bytes) -> web.Response:
        plugin = request.match_info["plugin"]
        config = {k: _as_text(v) for k, v in _object(body).items()}
        cls = resolve(plugin)
        if cls is None:
            raise ConnectError(400, _unknown_class(plugin))
        named = config.get("connector.class")
        if named is None:
            raise ConnectError(400, f"Connector config {_redacted(cls, config)} contains no connector type")
        if resolve(str(named)) is not cls:
            raise ConnectError(400, f"Included connector type {named} does not match request type {plugin}")
        _values, errors = cls.validate(config, self.runtime.env)
        return _json(validation_report(full_name(cls), cls.fields(), config, errors))


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body or b"null")
    except orjson.JSONDecodeError as exc:
        raise ConnectError(400, f"Request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConnectError(400, "Request body must be a JSON object")
    return value


def _as_text(value: Any) -> Any:
    """Kafka Connect configs are strings; JSON numbers and booleans are accepted and stored as such text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()  # an inline event pattern
    return value


def _check_name(name: str) -> None:
    if not name.strip() or "/" in name or any(not ch.isprintable() for ch in name):
        raise ConnectError(400, f"Connector name {name!r} is not valid: it may not be empty or contain '/' or "
                                "control characters")


def _class_of(config: Mapping[str, Any]) -> type[Connector]:
    named = config.get("connector.class")
    if not named:
        raise ConnectError(400, "Connector config contains no connector type (connector.class)")
    cls = resolve(str(named))
    if cls is None:
        raise ConnectError(400, _unknown_class(str(named)))
    return cls


def _unknown_class(named: str) -> str:
    available = ", ".join(entry["class"] for entry in plugin_list())
    return (f"Failed to find any class that implements Connector and which name matches {named}, "
            f"available connectors are: {available}")


def _redacted(cls: type[Connector], config: Mapping[str, Any]) -> dict[str, Any]:
    return masked(cls.fields(), config)
