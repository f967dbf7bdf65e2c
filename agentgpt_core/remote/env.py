"""RemoteEnv: a real ``gymnasium.Env`` whose simulator runs on an env host."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from ..kinds import TransportClient
from ..protocol.errors import ProtocolError
from ..protocol.spaces import space_from_dict
from .connect import connect
from .convert import as_slot_values, as_space_value


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
        self._client = client or connect(url, api_key=api_key, codec=codec, timeout=timeout)
        try:
            description = self._client.call("make", {"env_name": env_id, "kwargs": make_kwargs})
        except BaseException:
            self._client.close()
            raise
        self.env_key: str = description["env_key"]
        self.agents: list[str] | None = description.get("agents")
        self.observation_space = space_from_dict(description["observation_space"])
        self.action_space = space_from_dict(description["action_space"])
        self._next_reset: tuple[Any, dict] | None = None
        self._closed = False

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is None and options is None and self._next_reset is not None:
            observation, info = self._next_reset
            self._next_reset = None
            return observation, info
        self._next_reset = None
        result = self._client.call("reset", {"env_key": self.env_key, "seed": seed, "options": options})
        return self._observation(result["observation"]), result.get("info") or {}

    def step(self, action: Any) -> tuple[Any, Any, Any, Any, dict]:
        result = self._client.call("step", {"env_key": self.env_key, "action": action})
        observation = self._observation(result["observation"])
        info = result.get("info") or {}
        if "final_observation" in result:
            self._next_reset = (observation, info)
            observation = self._observation(result["final_observation"])
            info = result.get("final_info") or {}
        return observation, result["reward"], result["terminated"], result["truncated"], info

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._client.call("close", {"env_key": self.env_key})
        except ProtocolError:
            pass  # the host is gone or already closed it: nothing left to release
        finally:
            self._client.close()

    def _observation(self, value: Any) -> Any:
        if self.agents is not None:
            return as_slot_values(self.observation_space, value)
        return as_space_value(self.observation_space, value)
