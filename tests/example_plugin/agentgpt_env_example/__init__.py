"""An example plugin: the ``countdown:`` env adapter (``agentgpt launch --env countdown:5``).

The whole of a plugin: a class of one kind from ``agentgpt_core.kinds``, a hook that
registers an instance, and an entry point in the ``agentgpt`` group (pyproject.toml).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agentgpt_core.hookspecs import hookimpl
from agentgpt_core.kinds import EnvAdapter


class Countdown(gym.Env):
    """Observation: steps left. Any action counts down; the episode ends at zero with reward 1."""

    def __init__(self, start: int):
        self.start = start
        self.observation_space = gym.spaces.Box(0, start, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.left = start

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.left = self.start
        return np.array([self.left], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.left -= 1
        return np.array([self.left], dtype=np.float32), float(self.left == 0), self.left == 0, False, {}


class CountdownAdapter(EnvAdapter):
    """``countdown:N`` makes a Countdown from N."""

    name = "countdown"

    def make(self, target: str, **kwargs: Any) -> gym.Env:
        return Countdown(int(target))


@hookimpl
def register_env_adapters(register):
    register(CountdownAdapter())
