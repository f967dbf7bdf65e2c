"""One env a host has made, as the wire sees it.

This is where every simulator's own conventions become the protocol's single meaning
(docs/protocol.md, "Autoreset"): when an episode ends, ``step`` returns the *next*
episode's first observation in ``observation`` and the terminal one in
``final_observation`` (with ``final_info``), whether the env is a Gymnasium 1.x
vector env in NEXT_STEP, SAME_STEP or DISABLED mode, a pre-1.0 env that puts
``final_observation`` in ``info``, or a plain env that does not reset itself.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from ..batches import row
from ..protocol.errors import InvalidAction, InvalidArgument
from ..protocol.names import (
    ACTION_SPACE,
    AGENTS,
    AUTORESET,
    ENV_KEY,
    ENV_NAME,
    FINAL_INFO,
    FINAL_OBSERVATION,
    INFO,
    NUM_ENVS,
    OBSERVATION,
    OBSERVATION_SPACE,
    REWARD,
    TERMINATED,
    TRUNCATED,
    VECTOR,
)
from ..protocol.spaces import space_to_dict
from .actions import decode_action
from .arguments import check_seed
from .sanitize import to_wire



def describe(served: Any) -> dict[str, Any]:
    """What ``make`` returns for a served env (single- or multi-agent): key, spaces, slots."""
    return {
        ENV_KEY: served.key,
        ENV_NAME: served.name,
        NUM_ENVS: served.num_envs,
        VECTOR: served.is_vector,
        AGENTS: served.agents,
        AUTORESET: "same_step" if served.autoreset else "disabled",
        OBSERVATION_SPACE: space_to_dict(served.observation_space),
        ACTION_SPACE: space_to_dict(served.action_space),
    }

class ServedEnv:
    """A made env (single or vector, single- or multi-agent) behind one ``env_key``."""

    def __init__(self, key: str, name: str, env: gym.Env | VectorEnv, *, seed: int | None = None, autoreset: bool = True):
        self.key = key
        self.name = name
        self.env = env
        self.is_vector = isinstance(env, VectorEnv)
        self.num_envs = env.num_envs if self.is_vector else 1
        self.autoreset = autoreset
        self.lock = threading.Lock()
        self.steps = 0
        self.last_used = time.monotonic()
        self._pending_seed = seed
        base = env if self.is_vector else env.unwrapped
        self.agents: list[str] | None = list(getattr(base, "possible_agents", []) or []) or None
        self.observation_space = env.single_observation_space if self.is_vector else env.observation_space
        self.action_space = env.single_action_space if self.is_vector else env.action_space

    def describe(self) -> dict[str, Any]:
        """What ``make`` returns: the key, the spaces and the slots."""
        return describe(self)

    def reset(self, seed: Any = None, options: dict | None = None) -> dict[str, Any]:
        self.last_used = time.monotonic()
        if seed is None:
            seed, self._pending_seed = self._pending_seed, None
        else:
            self._pending_seed = None
        seed = check_seed(seed, self.num_envs if self.is_vector else None)
        if options is not None and not isinstance(options, dict):
            raise InvalidArgument("options must be an object")
        observation, info = self.env.reset(seed=seed, options=options)
        return {OBSERVATION: observation, INFO: to_wire(info)}

    def step(self, action: Any) -> dict[str, Any]:
        self.last_used = time.monotonic()
        action = self._decode(action)
        if self.is_vector:
            result = self._step_vector(action)
        else:
            result = self._step_single(action)
        self.steps += self.num_envs
        return result

    def close(self) -> None:
        self.env.close()

    # -- actions ---------------------------------------------------------------

    def _decode(self, action: Any) -> Any:
        if self.agents is not None:
            return self._decode_slots(action, self.agents, self.action_space)
        if not self.is_vector:
            return decode_action(self.action_space, action)
        return self._decode_batch(action)

    def _decode_batch(self, action: Any) -> Any:
        space = self.env.action_space
        if isinstance(self.action_space, (gym.spaces.Dict, gym.spaces.Tuple, gym.spaces.Text)):
            if not isinstance(action, (list, tuple)) or len(action) != self.num_envs:
                raise InvalidAction(f"a vector env needs one action per env: a list of {self.num_envs}")
            parts = [decode_action(self.action_space, a) for a in action]
            return gym.vector.utils.concatenate(
                self.action_space, parts, gym.vector.utils.create_empty_array(self.action_space, self.num_envs)
            )
        return decode_action(space, action)

    @staticmethod
    def _decode_slots(action: Any, agents: list[str], space: gym.Space) -> list[Any]:
        if not isinstance(action, (list, tuple)) or len(action) != len(agents):
            raise InvalidAction(f"a multi-agent env needs a list of {len(agents)} actions, one per slot (None for none)")
        return [None if a is None else decode_action(space, a) for a in action]

    # -- steps -----------------------------------------------------------------

    def _step_single(self, action: Any) -> dict[str, Any]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        result: dict[str, Any] = {
            OBSERVATION: observation,
            REWARD: reward if self.agents is not None else float(reward),
            TERMINATED: terminated if self.agents is not None else bool(terminated),
            TRUNCATED: truncated if self.agents is not None else bool(truncated),
        }
        if self.agents is None and self.autoreset and (terminated or truncated):
            if FINAL_OBSERVATION in info:  # pre-1.0 env that already reset itself
                final, final_info = info.pop(FINAL_OBSERVATION), info.pop(FINAL_INFO, {})
            else:
                final, final_info = observation, info
                observation, info = self.env.reset()
            result[OBSERVATION] = observation
            result[FINAL_OBSERVATION] = final
            result[FINAL_INFO] = to_wire(final_info)
        result[INFO] = to_wire(info)
        return result

    def _step_vector(self, action: Any) -> dict[str, Any]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        done = np.logical_or(terminated, truncated)
        result: dict[str, Any] = {
            OBSERVATION: observation,
            REWARD: np.asarray(reward, dtype=np.float64),
            TERMINATED: np.asarray(terminated, dtype=bool),
            TRUNCATED: np.asarray(truncated, dtype=bool),
        }
        if done.any():
            mode = self.env.metadata.get("autoreset_mode")
            if "final_obs" in info or FINAL_OBSERVATION in info:  # SAME_STEP, or pre-1.0 vector envs
                obs_key = "final_obs" if "final_obs" in info else FINAL_OBSERVATION
                final = info.pop(obs_key)
                mask = info.pop("_" + obs_key, done)
                final_infos = info.pop(FINAL_INFO, None)
                info.pop("_final_info", None)
                result[FINAL_OBSERVATION] = [row(final, i) if mask[i] else None for i in range(self.num_envs)]
                result[FINAL_INFO] = to_wire(final_infos) if final_infos is not None else None
            elif mode in (AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED, None):
                result[FINAL_OBSERVATION] = [row(observation, i) if done[i] else None for i in range(self.num_envs)]
                result[FINAL_INFO] = to_wire(info)
                observation, info = self.env.reset(options={"reset_mask": done})
                result[OBSERVATION] = observation
        result[INFO] = to_wire(info)
        return result

