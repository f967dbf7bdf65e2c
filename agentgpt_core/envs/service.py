"""EnvService: the transport-agnostic env host.

Transports decode a request into ``(method, params, session)`` and call
``EnvService.handle``; everything protocol-level happens here: which envs the
operator allowed, env sessions by ``env_key``, action decoding, autoreset, and typed
errors. A failure in one call never disturbs other envs or sessions.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable

from .. import __version__
from ..protocol.errors import (
    EnvError,
    EnvNotAllowed,
    InvalidArgument,
    MalformedPayload,
    ProtocolError,
    UnknownEnvKey,
    UnknownMethod,
)
from ..protocol.spaces import space_to_dict
from .served import ServedEnv
from .specs import EnvSpec

METHODS = ("make", "make_vec", "reset", "step", "action_space", "observation_space", "close", "ping", "info")
DEFAULT_SESSION = "default"


class EnvService:
    """Hosts the envs its operator allowed and answers protocol calls for them."""

    def __init__(
        self,
        specs: list[EnvSpec | str],
        *,
        plugin_manager: Any = None,
        max_envs: int = 4096,
        max_num_envs: int = 1024,
        idle_timeout_s: float | None = 3600.0,
    ):
        parsed = [spec if isinstance(spec, EnvSpec) else EnvSpec.parse(spec) for spec in specs]
        self.allowed: dict[str, EnvSpec] = {spec.name: spec for spec in parsed}
        self.max_envs = max_envs
        self.max_num_envs = max_num_envs
        self.idle_timeout_s = idle_timeout_s
        self._plugins = plugin_manager
        self._envs: dict[str, ServedEnv] = {}
        self._sessions: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[dict, str], Any]] = {m: getattr(self, f"_{m}") for m in METHODS}
        for spec in parsed:  # fail at start-up, not at the first remote make
            self._adapter(spec.adapter)

    # -- entry point -----------------------------------------------------------

    def handle(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Any:
        """Run one protocol call; raise a ProtocolError subclass on any failure."""
        handler = self._handlers.get(method)
        if handler is None:
            raise UnknownMethod(f"unknown method {method!r}; the protocol has {', '.join(METHODS)}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise MalformedPayload(f"params must be an object, got {type(params).__name__}")
        try:
            return handler(params, session)
        except ProtocolError:
            raise
        except Exception as exc:  # the simulator raised: report it, keep serving
            raise EnvError(f"{method} failed in the env: {type(exc).__name__}: {exc}") from exc

    def close_session(self, session: str) -> None:
        """Close every env a session made (a WebSocket dropped, a client left)."""
        with self._lock:
            keys = self._sessions.pop(session, [])
            served = [self._envs.pop(key) for key in keys if key in self._envs]
        for env in served:
            env.close()

    def close(self) -> None:
        """Close every env on this host."""
        for session in list(self._sessions):
            self.close_session(session)

    @property
    def open_envs(self) -> list[ServedEnv]:
        return list(self._envs.values())

    # -- methods ---------------------------------------------------------------

    def _make(self, params: dict, session: str) -> dict:
        spec, kwargs = self._requested(params)
        env = self._adapter(spec.adapter).make(spec.target, **kwargs)
        autoreset = params.get("autoreset", True)
        if not isinstance(autoreset, bool):
            raise InvalidArgument("autoreset must be true or false")
        return self._register(ServedEnv(_new_key(), spec.name, env, seed=_seed(params), autoreset=autoreset), session)

    def _make_vec(self, params: dict, session: str) -> dict:
        spec, kwargs = self._requested(params)
        num_envs = params.get("num_envs", 1)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or not 1 <= num_envs <= self.max_num_envs:
            raise InvalidArgument(f"num_envs must be an integer from 1 to {self.max_num_envs}, got {num_envs!r}")
        env = self._adapter(spec.adapter).make_vec(spec.target, num_envs, **kwargs)
        return self._register(ServedEnv(_new_key(), spec.name, env, seed=_seed(params)), session)

    def _reset(self, params: dict, session: str) -> dict:
        served = self._lookup(params, session)
        with served.lock:
            return served.reset(seed=params.get("seed"), options=params.get("options"))

    def _step(self, params: dict, session: str) -> dict:
        if "action" not in params:
            raise MalformedPayload("step needs an 'action'")
        served = self._lookup(params, session)
        with served.lock:
            return served.step(params["action"])

    def _action_space(self, params: dict, session: str) -> dict:
        return space_to_dict(self._lookup(params, session).action_space)

    def _observation_space(self, params: dict, session: str) -> dict:
        return space_to_dict(self._lookup(params, session).observation_space)

    def _close(self, params: dict, session: str) -> dict:
        served = self._lookup(params, session)
        with self._lock:
            self._forget(served.key)
        with served.lock:
            served.close()
        return {"closed": served.key}

    def _ping(self, params: dict, session: str) -> dict:
        return {"ok": True, "version": __version__}

    def _info(self, params: dict, session: str) -> dict:
        return {
            "version": __version__,
            "envs": sorted(self.allowed),
            "open": [{"env_key": e.key, "env_name": e.name, "num_envs": e.num_envs, "steps": e.steps} for e in self.open_envs],
        }

    # -- helpers ---------------------------------------------------------------

    def _requested(self, params: dict) -> tuple[EnvSpec, dict]:
        name = params.get("env_name", params.get("env_id"))
        if not isinstance(name, str):
            raise MalformedPayload("make needs 'env_name' (a string naming one of the host's envs)")
        spec = self.allowed.get(name)
        if spec is None:
            served = ", ".join(sorted(self.allowed)) or "none"
            raise EnvNotAllowed(f"env {name!r} is not served here; this host serves: {served}")
        kwargs = params.get("kwargs") or {}
        if not isinstance(kwargs, dict) or not all(_is_plain(v) for v in kwargs.values()):
            raise InvalidArgument("kwargs must be an object of plain values (numbers, strings, booleans, lists)")
        return spec, kwargs

    def close_idle(self) -> list[str]:
        """Close envs unused for ``idle_timeout_s`` (a client that died without ``close``); return their keys."""
        if self.idle_timeout_s is None:
            return []
        deadline = time.monotonic() - self.idle_timeout_s
        with self._lock:
            stale = [env for env in self._envs.values() if env.last_used < deadline]
            for env in stale:
                self._forget(env.key)
        for env in stale:
            with env.lock:
                env.close()
        return [env.key for env in stale]

    def _forget(self, key: str) -> None:
        self._envs.pop(key, None)
        for keys in self._sessions.values():
            if key in keys:
                keys.remove(key)

    def _register(self, served: ServedEnv, session: str) -> dict:
        self.close_idle()  # sweep leaked envs exactly when a new one would need room
        with self._lock:
            if len(self._envs) >= self.max_envs:
                served.close()
                raise InvalidArgument(f"this host already runs {self.max_envs} envs; close some first")
            self._envs[served.key] = served
            self._sessions.setdefault(session, []).append(served.key)
        return served.describe()

    def _lookup(self, params: dict, session: str) -> ServedEnv:
        key = params.get("env_key")
        if key is None:
            keys = self._sessions.get(session, [])
            if len(keys) != 1:
                problem = "holds no env: call make first" if not keys else f"holds {len(keys)} envs: pass env_key"
                raise UnknownEnvKey(f"no env_key given and this session {problem}")
            key = keys[0]
        served = self._envs.get(key) if isinstance(key, str) else None
        if served is None:
            raise UnknownEnvKey(f"no env with env_key {key!r} on this host (closed, or never made)")
        return served

    def _adapter(self, name: str) -> Any:
        if self._plugins is None:
            from ..plugins import get_plugin_manager

            self._plugins = get_plugin_manager()
        return self._plugins.get("env_adapters", name)


def _new_key() -> str:
    return uuid.uuid4().hex


def _seed(params: dict) -> int | None:
    seed = params.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidArgument(f"seed must be an integer, got {seed!r}")
    return seed


def _is_plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return False
