"""RemoteVectorEnv: a real ``gymnasium.vector.VectorEnv`` of envs stepped on an env host."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..kinds import TransportClient
from ..protocol.errors import ProtocolError
from ..protocol.spaces import space_from_dict
from .connect import connect
from .convert import as_batch_value, unpack_vector_step

if TYPE_CHECKING:
    from .pool import HostPoolVectorEnv


class RemoteVectorEnv(VectorEnv):
    """``num_envs`` copies of ``env_id`` on one host, stepped in one round trip.

    Autoreset is SAME_STEP (``metadata["autoreset_mode"]``): when an env finishes,
    ``step`` returns the next episode's first observation and puts the terminal one
    in ``infos["final_obs"]`` (mask ``infos["_final_obs"]``) with
    ``infos["final_info"]``, exactly as Gymnasium's own SAME_STEP vector envs do.
    """

    def __init__(
        self,
        url: str,
        env_id: str,
        num_envs: int,
        *,
        api_key: str | None = None,
        codec: str = "msgpack",
        timeout: float = 30.0,
        seed: int | None = None,
        client: TransportClient | None = None,
        **make_kwargs: Any,
    ):
        self.url = url
        self.env_id = env_id
        self._client = client or connect(url, api_key=api_key, codec=codec, timeout=timeout)
        try:
            description = self._client.call(
                "make_vec", {"env_name": env_id, "num_envs": num_envs, "seed": seed, "kwargs": make_kwargs}
            )
        except BaseException:
            self._client.close()
            raise
        self.env_key: str = description["env_key"]
        self.num_envs = int(description["num_envs"])
        self.single_observation_space = space_from_dict(description["observation_space"])
        self.single_action_space = space_from_dict(description["action_space"])
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
        self._closed = False

    @classmethod
    def from_hosts(cls, listen: str, env_id: str, num_envs: int | None = None, **options: Any) -> HostPoolVectorEnv:
        """Listen at ``listen`` for env hosts that dial out and pool their envs (``remote/pool.py``)."""
        from .pool import HostPoolVectorEnv

        return HostPoolVectorEnv.from_hosts(listen, env_id, num_envs, **options)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        result = self._client.call("reset", {"env_key": self.env_key, "seed": seed, "options": options})
        return self._batch(result["observation"]), result.get("info") or {}

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        result = self._client.call("step", {"env_key": self.env_key, "action": actions})
        return self.unpack_step(result)

    def unpack_step(self, result: dict) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Turn a wire ``step`` result into Gymnasium's vector step tuple."""
        infos = result.get("info") or {}
        observation, reward, terminated, truncated, finals = unpack_vector_step(
            self.single_observation_space, result, self.num_envs
        )
        if "final_observation" in result:
            final_obs = np.empty(self.num_envs, dtype=object)
            for i, final in enumerate(finals):  # one by one: numpy would stack same-shaped arrays
                final_obs[i] = final
            mask = np.array([final is not None for final in finals], dtype=bool)
            infos["final_obs"], infos["_final_obs"] = final_obs, mask
            infos["final_info"], infos["_final_info"] = result.get("final_info") or {}, mask
        return observation, reward, terminated, truncated, infos

    def __enter__(self) -> RemoteVectorEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close_extras(self, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._client.call("close", {"env_key": self.env_key})
        except ProtocolError:
            pass  # the host is gone or already closed it
        finally:
            self._client.close()

    def _batch(self, value: Any) -> Any:
        return as_batch_value(self.single_observation_space, value, self.num_envs)
