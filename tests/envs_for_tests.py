"""Small operator-side env factories the tests serve through ``ALIAS=gym:module:factory``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv


class CountdownEnv(gym.Env):
    """Observation counts down from ``length``; the episode terminates at zero."""

    def __init__(self, length: int = 3):
        self.length = length
        self.observation_space = spaces.Box(0, 10, (1,), np.float32)
        self.action_space = spaces.Discrete(2)
        self._left = length

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._left = self.length
        return np.array([self._left], np.float32), {"reset": True}

    def step(self, action):
        self._left -= 1
        return np.array([self._left], np.float32), 1.0, self._left == 0, False, {"left": self._left}


class PreGymnasium1Countdown(CountdownEnv):
    """Resets itself and reports the terminal observation in ``info`` (pre-1.0 convention)."""

    def step(self, action):
        observation, reward, terminated, truncated, info = super().step(action)
        if terminated:
            info["final_observation"] = observation
            observation, _ = self.reset()
        return observation, reward, terminated, truncated, info


class TwoAgentTag(gym.Env):
    """Two agent slots; agent ``b`` has no data on odd steps (its slot is None)."""

    possible_agents = ["a", "b"]

    def __init__(self):
        self.observation_space = spaces.Box(-10, 10, (2,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return [np.zeros(2, np.float32), np.zeros(2, np.float32)], {}

    def step(self, actions):
        self.t += 1
        obs_b = None if self.t % 2 else np.full(2, self.t, np.float32)
        rewards = [float(actions[0]), None if obs_b is None else 1.0]
        return [np.full(2, self.t, np.float32), obs_b], rewards, [False, False], [False, False], {}


def countdown(length: int = 3) -> gym.Env:
    return CountdownEnv(length)


def pre_1_0_countdown() -> gym.Env:
    return PreGymnasium1Countdown()


def two_agent_tag() -> gym.Env:
    return TwoAgentTag()


def _vector(mode: AutoresetMode):
    def make(num_envs: int) -> SyncVectorEnv:
        return SyncVectorEnv([lambda i=i: CountdownEnv(2 + i) for i in range(num_envs)], autoreset_mode=mode)

    make.vectorized = True
    return make


countdown_vec_next_step = _vector(AutoresetMode.NEXT_STEP)
countdown_vec_same_step = _vector(AutoresetMode.SAME_STEP)
countdown_vec_disabled = _vector(AutoresetMode.DISABLED)


class ComposedActionEnv(gym.Env):
    """An action space of Dict or Tuple: the observation records every part of each action."""

    def __init__(self, kind: str = "dict", length: int = 4):
        move, force = spaces.Discrete(3), spaces.Box(-1, 1, (2,), np.float32)
        self.kind, self.length = kind, length
        self.action_space = spaces.Dict({"move": move, "force": force}) if kind == "dict" else spaces.Tuple((move, force))
        self.observation_space = spaces.Box(-100, 100, (4,), np.float32)
        self._state, self._t = np.zeros(4, np.float32), 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._state = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        self._t = 0
        return self._state.copy(), {"t": 0}

    def step(self, action):
        move, force = (action["move"], action["force"]) if self.kind == "dict" else action
        self._t += 1
        self._state = (self._state + np.array([move - 1, *force, self._t], np.float32)).astype(np.float32)
        return self._state.copy(), float(move), self._t >= self.length, False, {"t": self._t}


def dict_action_env(length: int = 4) -> gym.Env:
    return ComposedActionEnv("dict", length)


def tuple_action_env(length: int = 4) -> gym.Env:
    return ComposedActionEnv("tuple", length)
