"""RemoteEnv: a real ``gymnasium.Env`` whose simulator runs on an env host."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from ..kinds import TransportClient
from ..protocol import names as wire
from ..protocol.names import Method
from ..protocol.spaces import space_from_dict
from .connect import close_remote, open_remote
from .convert import as_slot_values, as_space_value, reading


class RemoteEnv(gym.Env):
    """A Gymnasium env served elsewhere: ``RemoteEnv("http://host:8000", "CartPole-v1")``.

    The host autoresets (docs/protocol.md); this client presents plain Gymnasium
    semantics: the step that ends an episode returns the terminal observation, and the
    following ``reset()`` (without seed or options) uses the first observation the host
    already made, saving a round trip. Extra keyword arguments go to the env's
    constructor on the host.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        url: str,
        env_id: str,
        *,
        api_key: str | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        client: TransportClient | None = None,
        **make_kwargs: Any,
    ):
        self.url = url
        self.env_id = env_id
        self._client, description = open_remote(
            url, Method.MAKE, {wire.ENV_NAME: env_id, wire.KWARGS: make_kwargs}, client,
            api_key=api_key, codec=codec, timeout=timeout,
        )
        try:
            with reading(Method.MAKE, url):
                self.env_key: str = description[wire.ENV_KEY]
                self.agents: list[str] | None = description.get(wire.AGENTS)
                self.observation_space = space_from_dict(description[wire.OBSERVATION_SPACE])
                self.action_space = space_from_dict(description[wire.ACTION_SPACE])
        except BaseException:
            self._client.close()
            raise
        self._next_reset: tuple[Any, dict] | None = None
        self._closed = False
        if client is None:  # made from a URL, so it can be made again: gymnasium's checker re-makes from the spec
            remake = Remake(url, env_id, api_key=api_key, codec=codec, timeout=timeout)
            self.spec = EnvSpec(id=env_id, entry_point=remake, kwargs=dict(make_kwargs), disable_env_checker=True)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is None and options is None and self._next_reset is not None:
            observation, info = self._next_reset
            self._next_reset = None
            return observation, info
        self._next_reset = None
        result = self._client.call(Method.RESET, {wire.ENV_KEY: self.env_key, wire.SEED: seed, wire.OPTIONS: options})
        with reading(Method.RESET, self.url):
            return self._observation(result[wire.OBSERVATION]), result.get(wire.INFO) or {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict]:
        result = self._client.call(Method.STEP, {wire.ENV_KEY: self.env_key, wire.ACTION: action})
        with reading(Method.STEP, self.url):
            return self._unpack_step(result)

    def _unpack_step(self, result: dict) -> tuple[Any, Any, Any, Any, dict]:
        observation = self._observation(result[wire.OBSERVATION])
        info = result.get(wire.INFO) or {}
        if wire.FINAL_OBSERVATION in result:
            self._next_reset = (observation, info)
            observation = self._observation(result[wire.FINAL_OBSERVATION])
            info = result.get(wire.FINAL_INFO) or {}
        return observation, result[wire.REWARD], result[wire.TERMINATED], result[wire.TRUNCATED], info

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close_remote(self._client, self.env_key)

    def _observation(self, value: Any) -> Any:
        if self.agents is not None:
            return as_slot_values(self.observation_space, value)
        return as_space_value(self.observation_space, value)


class Remake:
    """The entry point of a ``RemoteEnv``'s spec: ``gym.make(env.spec)`` opens another one on the same host.

    A class rather than a ``functools.partial`` so the spec's repr, which Gymnasium
    prints and users log, never shows the API key.
    """

    def __init__(self, url: str, env_id: str, **options: Any):
        self.url, self.env_id, self._options = url, env_id, options

    def __call__(self, **make_kwargs: Any) -> RemoteEnv:
        make_kwargs.pop("render_mode", None)  # remote envs do not render
        return RemoteEnv(self.url, self.env_id, **self._options, **make_kwargs)

    def __repr__(self) -> str:
        return f"RemoteEnv({self.url!r}, {self.env_id!r})"
