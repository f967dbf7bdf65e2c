"""EnvService: the env host, a ``Service`` any transport serves.

Transports decode a request into ``(method, params, session)`` and call
``EnvService.handle``; everything protocol-level happens here: which envs the
operator allowed, env sessions by ``env_key``, action decoding, autoreset, and typed
errors. A failure in one call never disturbs other envs or sessions. The env
adapters come from whoever builds the service (the CLI passes the plugin manager's),
so the service itself knows no plugin manager.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable, Mapping

from .._version import __version__
from ..kinds import EnvAdapter, Service
from ..protocol.errors import (
    EnvError,
    EnvNotAllowed,
    InvalidArgument,
    MalformedPayload,
    ProtocolError,
    UnknownEnvKey,
    UnknownMethod,
)
from ..protocol.names import (
    ACTION,
    AUTORESET,
    CLOSED,
    DEFAULT_SESSION,
    ENV_ID,
    ENV_KEY,
    ENV_METHODS,
    ENV_NAME,
    ENVS,
    KWARGS,
    NUM_ENVS,
    OPEN,
    OPTIONS,
    SEED,
    STEPS,
    VERSION,
)
from ..protocol.spaces import space_to_dict
from .arguments import check_seed, construct
from .served import ServedEnv
from .served_agents import serve
from .sweeper import IdleSweeper
from .specs import EnvSpec


def builtin_adapters() -> dict[str, EnvAdapter]:
    """The adapters of the core itself (``gym:``, ``pettingzoo:``), for a service built without a plugin manager."""
    from ..builtins.env_gym import GymAdapter
    from ..builtins.env_pettingzoo import PettingZooAdapter

    return {GymAdapter.name: GymAdapter(), PettingZooAdapter.name: PettingZooAdapter()}


class EnvService(Service):
    """Hosts the envs its operator allowed and answers protocol calls for them.

    ``adapters`` maps each ``--env ADAPTER:TARGET`` prefix to its ``EnvAdapter``
    (default: the built-in ``gym`` one).

    Limits (docs/security.md): ``max_envs`` counts envs, so a ``make_vec`` of 64 counts
    64; ``max_num_envs`` caps one ``make_vec``; an env unused for ``idle_timeout_s`` is
    closed by a sweep every ``min(60 s, idle_timeout_s / 4)``.
    """

    methods = ENV_METHODS

    def __init__(
        self,
        specs: list[EnvSpec | str],
        *,
        adapters: Mapping[str, EnvAdapter] | None = None,
        max_envs: int = 4096,
        max_num_envs: int = 1024,
        idle_timeout_s: float | None = 900.0,
    ):
        parsed = [spec if isinstance(spec, EnvSpec) else EnvSpec.parse(spec) for spec in specs]
        self.allowed: dict[str, EnvSpec] = {spec.name: spec for spec in parsed}
        self.max_envs = max_envs
        self.max_num_envs = max_num_envs
        self.idle_timeout_s = idle_timeout_s
        self._adapters = dict(adapters) if adapters is not None else builtin_adapters()
        self._envs: dict[str, ServedEnv] = {}
        self._sessions: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[dict, str], Any]] = {m: getattr(self, f"_{m}") for m in self.methods}
        self._sweeper = IdleSweeper(self, min(60.0, idle_timeout_s / 4)) if idle_timeout_s is not None else None
        for spec in parsed:  # fail at start-up, not at the first remote make
            self._adapter(spec.adapter).prepare(spec.target)

    # -- entry point -----------------------------------------------------------

    def handle(self, method: str, params: Any = None, session: str = DEFAULT_SESSION) -> Any:
        """Run one protocol call; raise a ProtocolError subclass on any failure."""
        handler = self._handlers.get(method)
        if handler is None:
            raise UnknownMethod(f"unknown method {method!r}; the protocol has {', '.join(self.methods)}")
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
        if self._sweeper is not None:
            self._sweeper.stop()
        for session in list(self._sessions):
            self.close_session(session)

    def offers(self) -> list[str]:
        return sorted(self.allowed)

    @property
    def open_envs(self) -> list[ServedEnv]:
        return list(self._envs.values())

    # -- methods ---------------------------------------------------------------

    def _make(self, params: dict, session: str) -> dict:
        spec, kwargs = self._requested(params)
        seed, autoreset = _seed(params), params.get(AUTORESET, True)  # checked before an env exists to leak
        if not isinstance(autoreset, bool):
            raise InvalidArgument("autoreset must be true or false")
        env = construct(self._adapter(spec.adapter).make, kwargs, spec.target)
        return self._register(serve(_new_key(), spec.name, env, seed=seed, autoreset=autoreset), session)

    def _make_vec(self, params: dict, session: str) -> dict:
        spec, kwargs = self._requested(params)
        num_envs = params.get(NUM_ENVS, 1)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or not 1 <= num_envs <= self.max_num_envs:
            raise InvalidArgument(f"num_envs must be an integer from 1 to {self.max_num_envs}, got {num_envs!r}")
        self._check_room(num_envs)  # before building them, not after
        seed = _seed(params)
        env = construct(self._adapter(spec.adapter).make_vec, kwargs, spec.target, num_envs)
        return self._register(serve(_new_key(), spec.name, env, seed=seed), session)

    def _reset(self, params: dict, session: str) -> dict:
        served = self._lookup(params, session)
        with served.lock:
            return served.reset(seed=params.get(SEED), options=params.get(OPTIONS))

    def _step(self, params: dict, session: str) -> dict:
        if ACTION not in params:
            raise MalformedPayload("step needs an 'action'")
        served = self._lookup(params, session)
        with served.lock:
            return served.step(params[ACTION])

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
        return {CLOSED: served.key}

    def _ping(self, params: dict, session: str) -> dict:
        return {"ok": True, VERSION: __version__}

    def _info(self, params: dict, session: str) -> dict:
        return {
            VERSION: __version__,
            ENVS: self.offers(),
            OPEN: [{ENV_KEY: e.key, ENV_NAME: e.name, NUM_ENVS: e.num_envs, STEPS: e.steps} for e in self.open_envs],
        }

    # -- helpers ---------------------------------------------------------------

    def _requested(self, params: dict) -> tuple[EnvSpec, dict]:
        name = params.get(ENV_NAME, params.get(ENV_ID))
        if not isinstance(name, str):
            raise MalformedPayload("make needs 'env_name' (a string naming one of the host's envs)")
        spec = self.allowed.get(name)
        if spec is None:
            served = ", ".join(sorted(self.allowed)) or "none"
            raise EnvNotAllowed(f"env {name!r} is not served here; this host serves: {served}")
        kwargs = params.get(KWARGS)
        kwargs = {} if kwargs is None else kwargs  # 0, "" or [] are wrong, not empty
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
            running = sum(env.num_envs for env in self._envs.values())
            if running + served.num_envs > self.max_envs:
                served.close()
                raise InvalidArgument(f"this host runs {running} of at most {self.max_envs} envs; {served.num_envs} more do not fit")
            self._envs[served.key] = served
            self._sessions.setdefault(session, []).append(served.key)
        if self._sweeper is not None:
            self._sweeper.ensure_started()
        return served.describe()

    def _check_room(self, count: int) -> None:
        running = sum(env.num_envs for env in self.open_envs)
        if running + count > self.max_envs:
            self.close_idle()
            running = sum(env.num_envs for env in self.open_envs)
            if running + count > self.max_envs:
                raise InvalidArgument(f"this host runs {running} of at most {self.max_envs} envs; {count} more do not fit")

    def _lookup(self, params: dict, session: str) -> ServedEnv:
        key = params.get(ENV_KEY)
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

    def _adapter(self, name: str) -> EnvAdapter:
        adapter = self._adapters.get(name)
        if adapter is None:
            choices = ", ".join(sorted(self._adapters)) or "none"
            raise ValueError(f"no env adapter named {name!r}; available: {choices}")
        return adapter


def _new_key() -> str:
    return uuid.uuid4().hex


def _seed(params: dict) -> int | None:
    return check_seed(params.get(SEED))


def _is_plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool, type(None))):
        return True
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return False
