"""RemoteVectorEnv: a real ``gymnasium.vector.VectorEnv`` of envs stepped on an env host."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ..kinds import TransportClient
from ..protocol import names as wire
from ..protocol.names import Method
from ..protocol.spaces import space_from_dict
from .agent_rows import AgentRows
from ..batches import object_rows
from .assembly import put_final_observations
from .connect import close_remote, open_remote
from .convert import as_batch_value, reading, unpack_vector_step, wire_actions


class RemoteVectorEnv(VectorEnv):
    """``num_envs`` copies of ``env_id`` on one host, stepped in one round trip.

    A multi-agent env (one with agent slots) becomes ``num_envs * agent_rows`` rows,
    one per (env, slot), ``agent_rows`` defaulting to the env's initial slots;
    ``infos["alive"]`` marks rows with an agent (agent_rows.py).

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
        agent_rows: int | None = None,
        **make_kwargs: Any,
    ):
        self.url = url
        self.env_id = env_id
        self._client, description = open_remote(
            url,
            Method.MAKE_VEC,
            {wire.ENV_NAME: env_id, wire.NUM_ENVS: num_envs, wire.SEED: seed, wire.KWARGS: make_kwargs},
            client,
            api_key=api_key,
            codec=codec,
            timeout=timeout,
        )
        try:
            with reading(Method.MAKE_VEC, url):
                self.env_key: str = description[wire.ENV_KEY]
                self.num_envs = int(description[wire.NUM_ENVS])
                self.single_observation_space = space_from_dict(description[wire.OBSERVATION_SPACE])
                self.single_action_space = space_from_dict(description[wire.ACTION_SPACE])
                self.agent_rows: AgentRows | None = None  # a multi-agent env: one row per (env, agent slot)
                if description.get(wire.AGENTS) is not None:
                    agents = description[wire.AGENTS]
                    self.agent_rows = AgentRows(self.single_observation_space, self.num_envs, agent_rows or len(agents), agents)
                    self.num_envs = self.agent_rows.num_rows
        except BaseException:
            self._client.close()
            raise
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
        self._closed = False

    @staticmethod
    def from_hosts(listen: str, env_id: str, num_envs: int | None = None, **options: Any) -> VectorEnv:
        """Listen at ``listen`` for env hosts that dial out and pool their envs (a ``HostPoolVectorEnv``, pool.py)."""
        from .pool import HostPoolVectorEnv

        return HostPoolVectorEnv.from_hosts(listen, env_id, num_envs, **options)

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        result = self._client.call(Method.RESET, {wire.ENV_KEY: self.env_key, wire.SEED: seed, wire.OPTIONS: options})
        with reading(Method.RESET, self.url):
            if self.agent_rows is not None:
                step = self.agent_rows.start()
                step.add(self._envs, result)
                observation, *_, infos = step.finish()
                return observation, infos
            return self._batch(result[wire.OBSERVATION]), result.get(wire.INFO) or {}

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self.agent_rows is not None:
            actions = self.agent_rows.actions(actions, self._envs)
        else:
            actions = wire_actions(self.single_action_space, self.action_space, actions)
        result = self._client.call(Method.STEP, {wire.ENV_KEY: self.env_key, wire.ACTION: actions})
        with reading(Method.STEP, self.url):
            if self.agent_rows is not None:
                step = self.agent_rows.start()
                step.add(self._envs, result)
                return step.finish()
            return self.unpack_step(result)

    @property
    def _envs(self) -> list[int]:
        return list(range(self.agent_rows.num_envs))

    def unpack_step(self, result: dict) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        """Turn a wire ``step`` result into Gymnasium's vector step tuple."""
        infos = result.get(wire.INFO) or {}
        observation, reward, terminated, truncated, finals = unpack_vector_step(
            self.single_observation_space, result, self.num_envs
        )
        if wire.FINAL_OBSERVATION in result:
            put_final_observations(infos, object_rows(finals), result.get(wire.FINAL_INFO) or {})
        return observation, reward, terminated, truncated, infos

    def __enter__(self) -> RemoteVectorEnv:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close_extras(self, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        close_remote(self._client, self.env_key)

    def _batch(self, value: Any) -> Any:
        return as_batch_value(self.single_observation_space, value, self.num_envs)
