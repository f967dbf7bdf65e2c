"""OpenAPI descriptions of the protocol's request bodies.

Protocol calls bypass FastAPI's routing (app.py says why), so FastAPI cannot infer
their schemas: they are declared here, once, and merged into ``/openapi.json``.
"""

from __future__ import annotations

from typing import Any

GET_METHODS = ("action_space", "observation_space", "ping", "info")

_ENV_KEY = {"type": "string", "description": "Returned by make; optional when the session holds exactly one env."}
_SEED = {"type": "integer", "nullable": True, "description": "Seed for the next reset."}
_KWARGS = {"type": "object", "description": "Plain keyword arguments for the env's constructor on the host."}
_ANY = {"description": "A value of the action space: a number, a list, or an object."}

PARAMS: dict[str, dict[str, Any]] = {
    "make": {
        "required": ["env_name"],
        "properties": {
            "env_name": {"type": "string", "description": "One of the envs the host's operator allowed."},
            "seed": _SEED,
            "kwargs": _KWARGS,
            "autoreset": {"type": "boolean", "default": True},
        },
        "example": {"env_name": "CartPole-v1", "seed": 42},
    },
    "make_vec": {
        "required": ["env_name"],
        "properties": {
            "env_name": {"type": "string"},
            "num_envs": {"type": "integer", "minimum": 1, "default": 1},
            "seed": _SEED,
            "kwargs": _KWARGS,
        },
        "example": {"env_name": "CartPole-v1", "num_envs": 8, "seed": 42},
    },
    "reset": {
        "properties": {"env_key": _ENV_KEY, "seed": _SEED, "options": {"type": "object", "nullable": True}},
        "example": {},
    },
    "step": {
        "required": ["action"],
        "properties": {"env_key": _ENV_KEY, "action": _ANY},
        "example": {"action": 0},
    },
    "close": {"properties": {"env_key": _ENV_KEY}, "example": {}},
    "action_space": {"properties": {"env_key": _ENV_KEY}, "example": {}},
    "observation_space": {"properties": {"env_key": _ENV_KEY}, "example": {}},
    "ping": {"properties": {}, "example": {}},
    "info": {"properties": {}, "example": {}},
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
_ERROR_STATUSES = {
    "400": "malformed_payload",
    "401": "unauthorized",
    "403": "env_not_allowed",
    "404": "unknown_env_key / unknown_method",
    "413": "payload_too_large",
    "422": "invalid_action / invalid_argument",
    "500": "env_error",
}


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
            query = [{"name": "env_key", "in": "query", "required": False, "schema": _ENV_KEY}] if "env_key" in spec["properties"] else []
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
        "security": [] if method == "ping" else [{"bearer": []}],
        "responses": responses,
        **fields,
    }
