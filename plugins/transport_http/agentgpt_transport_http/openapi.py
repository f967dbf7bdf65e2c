"""OpenAPI descriptions of the protocol's request bodies.

Protocol calls bypass FastAPI's routing (app.py says why), so FastAPI cannot infer
their schemas: they are declared here, once, and merged into ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from agentgpt_core.protocol import names as wire
from agentgpt_core.protocol.names import Method

from .status import HTTP_STATUS

GET_METHODS = (Method.ACTION_SPACE, Method.OBSERVATION_SPACE, Method.PING, Method.INFO)

_ENV_KEY = {"type": "string", "description": "Returned by make; optional when the session holds exactly one env."}
_SEED = {"type": "integer", "nullable": True, "description": "Seed for the next reset."}
_KWARGS = {"type": "object", "description": "Plain keyword arguments for the env's constructor on the host."}
_ANY = {"description": "A value of the action space: a number, a list, or an object."}

PARAMS: dict[str, dict[str, Any]] = {
    Method.MAKE: {
        "required": [wire.ENV_NAME],
        "properties": {
            wire.ENV_NAME: {"type": "string", "description": "One of the envs the host's operator allowed."},
            wire.SEED: _SEED,
            wire.KWARGS: _KWARGS,
            wire.AUTORESET: {"type": "boolean", "default": True},
        },
        "example": {wire.ENV_NAME: "CartPole-v1", wire.SEED: 42},
    },
    Method.MAKE_VEC: {
        "required": [wire.ENV_NAME],
        "properties": {
            wire.ENV_NAME: {"type": "string"},
            wire.NUM_ENVS: {"type": "integer", "minimum": 1, "default": 1},
            wire.SEED: _SEED,
            wire.KWARGS: _KWARGS,
        },
        "example": {wire.ENV_NAME: "CartPole-v1", wire.NUM_ENVS: 8, wire.SEED: 42},
    },
    Method.RESET: {
        "properties": {wire.ENV_KEY: _ENV_KEY, wire.SEED: _SEED, wire.OPTIONS: {"type": "object", "nullable": True}},
        "example": {},
    },
    Method.STEP: {
        "required": [wire.ACTION],
        "properties": {wire.ENV_KEY: _ENV_KEY, wire.ACTION: _ANY},
        "example": {wire.ACTION: 0},
    },
    Method.CLOSE: {"properties": {wire.ENV_KEY: _ENV_KEY}, "example": {}},
    Method.ACTION_SPACE: {"properties": {wire.ENV_KEY: _ENV_KEY}, "example": {}},
    Method.OBSERVATION_SPACE: {"properties": {wire.ENV_KEY: _ENV_KEY}, "example": {}},
    Method.PING: {"properties": {}, "example": {}},
    Method.INFO: {"properties": {}, "example": {}},
}

SUMMARIES = {
    "make": "Make one env; returns env_key and both spaces.",
    "make_vec": "Make num_envs copies stepped together; returns env_key and the single spaces.",
    "reset": "Reset the env; returns observation and info.",
    "step": "Step with an action; returns observation, reward, terminated, truncated, info (and final_observation at episode end).",
    "close": "Close the env and free its env_key.",
    "action_space": "The env's action space, serialised.",
    "observation_space": "The env's observation space, serialised.",
    "ping": "Liveness check; needs no API key.",
    "info": "Server version, served env names and open envs.",
}

_ERROR_BODY = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}


def _codes_by_status() -> dict[str, str]:
    """Each HTTP status an error is answered with, and the error codes behind it (status.py)."""
    codes: dict[str, list[str]] = {}
    for code, status in HTTP_STATUS.items():
        codes.setdefault(str(status), []).append(code)
    return {status: " / ".join(names) for status, names in sorted(codes.items())}


_ERROR_STATUSES = _codes_by_status()


def protocol_paths() -> dict[str, Any]:
    """OpenAPI path items for every protocol route: POST for all methods, GET for the read-only ones."""
    paths: dict[str, Any] = {}
    for method, spec in PARAMS.items():
        schema: dict[str, Any] = {"type": "object", "properties": spec["properties"]}
        if spec.get("required"):
            schema["required"] = spec["required"]
        paths[f"/{method}"] = {
            "post": _operation(
                method,
                "post",
                requestBody={
                    "required": False,
                    "content": {
                        "application/json": {"schema": schema, "example": spec["example"]},
                        "application/msgpack": {"schema": schema},
                    },
                },
            )
        }
        if method in GET_METHODS:
            query = [{"name": wire.ENV_KEY, "in": "query", "required": False, "schema": _ENV_KEY}] if wire.ENV_KEY in spec["properties"] else []
            paths[f"/{method}"]["get"] = _operation(method, "get", parameters=query)
    return paths


def _operation(method: str, verb: str, **fields: Any) -> dict[str, Any]:
    responses = {"200": {"description": "The result.", "content": {"application/json": {}, "application/msgpack": {}}}}
    responses.update(
        {status: {"description": codes, "content": {"application/json": {"schema": _ERROR_BODY}}} for status, codes in _ERROR_STATUSES.items()}
    )
    return {
        "summary": SUMMARIES[method],
        "operationId": f"{method}_{verb}",
        "security": [] if method == Method.PING else [{"bearer": []}],
        "responses": responses,
        **fields,
    }
